/**
 * Bundled for a page by the page test: the tuning page's WebGPU session (openPageGpuSession) has
 * its device lost under a prepared kernel; the kernel in flight must fail naming the loss, and the
 * next candidate must verify on a new device. window.gpuLossCheck() answers what happened.
 */
import { createKernel } from '../../harness/compile.js';
import { evaluateCandidate } from '../../harness/evaluate.js';
import { makeProblemData, neoCellProblem } from '../../harness/problem.js';
import { openPageGpuSession } from '../../kernels/webgpu/page-session.js';
import { wgslVariants } from '../../kernels/webgpu/variants.js';

(globalThis as unknown as { gpuLossCheck: () => Promise<unknown> }).gpuLossCheck = async () => {
  const session = await openPageGpuSession('test browser');
  try {
    const fused = wgslVariants('webgpu-browser').find((v) => v.name === 'fused-wgsl')!;
    const p = neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: '4+7', shift: 1 });
    const params = { tile: 'shared', wg: 64, wgy: 4, vec: 4 };
    const data = makeProblemData(p, 9);
    const inFlight = await createKernel(fused, p, params, session);
    await inFlight.prepare(data);
    const before = session.gpu.device;
    await session.simulateDeviceLoss('unknown: simulated loss');
    const inFlightError = await Promise.resolve()
      .then(() => inFlight.run())
      .then(
        () => null,
        (e: unknown) => String(e instanceof Error ? e.message : e),
      );
    const next = await evaluateCandidate(session, fused, p, params, data, { verifyOnly: true });
    return { inFlightError, next: next.state, nextError: next.error ?? null, newDevice: session.gpu.device !== before };
  } finally {
    await session.close();
  }
};
