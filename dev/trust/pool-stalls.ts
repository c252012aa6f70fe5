/**
 * Stall rate of multi-threaded WebAssembly kernels: calls of a 2-thread kernel back to back for a
 * fixed time, counting calls that took STALL_MS longer than the median call (a scheduler slice
 * spent waiting for a descheduled thread). Uses only the backend's public kernel interface, so the
 * same file measures any version of the pool.
 *   node dist/dev/trust/pool-stalls.js [--seconds 5] [--kernel fused-wasm] [--json]
 */
import { createKernel } from '../../harness/compile.js';
import { neoCellProblem, makeProblemData } from '../../harness/problem.js';
import { quantile } from '../../harness/stats.js';
import { cpuBackend } from '../../kernels/cpu/backend.js';

const STALL_MS = 1;
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const seconds = Number(opt('seconds', '5'));
const kernelName = opt('kernel', 'fused-wasm');

const session = await cpuBackend.open();
try {
  const rows = [];
  for (const [label, shape] of [
    ['stage3 384×14×14', { N: 1, C: 384, H: 14, W: 14, spec: '7' }],
    ['stage4 768×7×7', { N: 1, C: 768, H: 7, W: 7, spec: '7' }],
  ] as const) {
    const problem = neoCellProblem(shape);
    const variant = cpuBackend.variants.find((v) => v.name === kernelName)!;
    const kernel = await createKernel(variant, problem, { ...variant.defaults(problem, session.device), threads: 2 }, session);
    await kernel.prepare(makeProblemData(problem, 1));
    for (let i = 0; i < 200; i++) await kernel.run();
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t = performance.now();
      await kernel.run();
      times.push(performance.now() - t);
    }
    await kernel.dispose();
    const median = quantile(times, 0.5);
    const stalls = times.filter((t) => t > median + STALL_MS).length;
    rows.push({ problem: label, kernel: `${kernelName} threads=2`, calls: times.length, median_ms: median, p99_ms: quantile(times, 0.99), max_ms: times.reduce((a, b) => Math.max(a, b), 0), stalls, stall_rate: stalls / times.length });
  }
  if (args.includes('--json')) process.stdout.write(JSON.stringify(rows) + '\n');
  else for (const r of rows) process.stdout.write(`${r.problem} ${r.kernel}: ${r.calls} calls, median ${r.median_ms.toFixed(4)} ms, p99 ${r.p99_ms.toFixed(3)} ms, max ${r.max_ms.toFixed(2)} ms, stalls ${r.stalls} (${(100 * r.stall_rate).toFixed(3)} %)\n`);
} finally {
  await session.close();
}
