/** Depthwise K×K conv baseline (gpu.js): one thread per output, zero padding by bounds checks, the row of K taps looped or unrolled. */
import type { CopyProblem, DwConvProblem, KernelVariant } from '../../harness/types.js';
import { kernelSource, stageOutput, termSum, threadCoords } from './source.js';
import { type CommonParams, type GpuJsBackendName, gpujsVariant } from './variant.js';
import type { GpuJsPlanParts } from './plan.js';

export function dwconvPlan(p: DwConvProblem, common: CommonParams): GpuJsPlanParts {
  const { N, C, H, W, K } = p;
  const pad = Math.floor((K - 1) / 2);
  const plane = { rows: H, cols: W };
  const source = kernelSource(['x', 'w0'], `${threadCoords(common.layout, plane, C)}
  let acc = 0;
  for (let u = 0; u < ${K}; u++) {
    const r = row + u - ${pad};
    if (r >= 0 && r < ${H}) {
      ${termSum('acc', K, common.unroll, 'v', (v) => ({ guard: `col + ${v} - ${pad} >= 0 && col + ${v} - ${pad} < ${W}`, body: `w0[c * ${K * K} + u * ${K} + ${v}] * x[(nc * ${H} + r) * ${W} + col + ${v} - ${pad}]` }))}
    }
  }
  return acc;`);
  const macs = N * C * H * W * K * K;
  return {
    spec: { name: `dwconv-gpujs-${K}`, stages: [{ source, output: stageOutput(common.layout, plane, N * C), args: ['x', 'w0'] }], precision: common.precision, pipeline: common.pipeline, outputElements: N * C * H * W },
    weights: ['dw'],
    executed: { multiplies: macs, adds: macs, macs },
  };
}

/** Y = X, the bandwidth ceiling (texture upload, one fetch per output, read-back). */
export function copyPlan(p: CopyProblem, common: CommonParams): GpuJsPlanParts {
  const plane = { rows: p.H, cols: p.W };
  const source = kernelSource(['x'], `${threadCoords(common.layout, plane, p.C)}
  return x[(nc * ${p.H} + row) * ${p.W} + col];`);
  return {
    spec: { name: 'copy-gpujs', stages: [{ source, output: stageOutput(common.layout, plane, p.N * p.C), args: ['x'] }], precision: common.precision, pipeline: common.pipeline, outputElements: p.N * p.C * p.H * p.W },
    weights: [],
    executed: { multiplies: 0, adds: 0, macs: 0 },
  };
}

const planeOf = (p: { H: number; W: number }) => ({ out: { rows: p.H, cols: p.W } });

export const dwconvGpujsFor = (backend: GpuJsBackendName): KernelVariant<DwConvProblem> =>
  gpujsVariant<DwConvProblem>(backend, { name: 'dwconv-gpujs', op: 'dwconv', role: 'baseline', chain: false, terms: true, sizes: planeOf, plan: (problem, _p, common) => dwconvPlan(problem, common) });

export const copyGpujsFor = (backend: GpuJsBackendName): KernelVariant<CopyProblem> =>
  gpujsVariant<CopyProblem>(backend, { name: 'copy-gpujs', op: 'copy', role: 'ceiling', chain: false, terms: false, sizes: planeOf, plan: (problem, _p, common) => copyPlan(problem, common) });
