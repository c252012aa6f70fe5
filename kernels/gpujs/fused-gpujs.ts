/**
 * fused (gpu.js): one kernel, one thread per output. gpu.js has no shared memory, so the band's
 * intermediate cannot be shared between threads: each output recomputes the k partial sums it
 * needs, k·k + k multiply-adds per output instead of 2k. What it saves is the chain's second
 * kernel and its intermediate texture; `sparse-gpujs` is the 2k-per-output alternative, and the
 * tuner decides which one wins where. `unroll` unrolls the inner k-term sum (the outer stays a loop:
 * unrolling both makes k² statements per channel segment, which compile for seconds).
 *   order BA: Σ_q a[p][q] · (Σ_r X[q][r] · b[r][pb])    order AB: Σ_r b[r][pb] · (Σ_q a[p][q] · X[q][r])
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { cellSizes } from './sparse-gpujs.js';
import { blockOf, kernelSource, repeat, segmentBranches, stageOutput, termSum, threadCoords } from './source.js';
import { type CommonParams, type GpuJsBackendName, gpujsVariant } from './variant.js';
import type { GpuJsPlanParts } from './plan.js';
import { cellSegments, groupWeightOffsets, type Segment, segmentOutput } from '../../core/structure.js';

export function fusedPlan(p: NeoCellProblem, order: 'AB' | 'BA', common: CommonParams): GpuJsPlanParts {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const out = segmentOutput(segs[0]!, H, W);
  const plane = { rows: out.H_out, cols: out.W_out };
  const off = groupWeightOffsets(p.cell);
  const u = common.unroll;
  let macs = 0;
  const body = (s: Segment) => {
    const { a, b } = s;
    macs += N * (s.c1 - s.c0) * plane.rows * plane.cols * (order === 'BA' ? a.in * (b.in + 1) : b.in * (a.in + 1));
    const xAt = (r: string, cc: string) => `x[(nc * ${H} + ${r}) * ${W} + ${cc}]`;
    const inner =
      order === 'BA'
        ? repeat(a.in, false, 'q', (q, k) => `const ri${k} = ra + ${q};
    if (ri${k} >= 0 && ri${k} < ${H}) {
      let v${k} = 0;
      ${termSum(`v${k}`, b.in, u, 'r', (r) => ({ guard: `cb + ${r} >= 0 && cb + ${r} < ${W}`, body: `${xAt(`ri${k}`, `cb + ${r}`)} * w1[wb + ${r} * ${b.out}]` }))}
      acc += w0[wa + ${q}] * v${k};
    }`)
        : repeat(b.in, false, 'r', (r, k) => `const ci${k} = cb + ${r};
    if (ci${k} >= 0 && ci${k} < ${W}) {
      let v${k} = 0;
      ${termSum(`v${k}`, a.in, u, 'q', (q) => ({ guard: `ra + ${q} >= 0 && ra + ${q} < ${H}`, body: `w0[wa + ${q}] * ${xAt(`ra + ${q}`, `ci${k}`)}` }))}
      acc += v${k} * w1[wb + ${r} * ${b.out}];
    }`);
    return `${blockOf('row', a.out, s.offA, 't', 'pa')}
    ${blockOf('col', b.out, s.offB, 'tb', 'pb')}
    const ra = t * ${a.in} + ${s.offA};
    const cb = tb * ${b.in} + ${s.offB};
    const wa = ${off[s.group]!.a} + cl * ${a.in * a.out} + pa * ${a.in};
    const wb = ${off[s.group]!.b} + cl * ${b.in * b.out} + pb;
    let acc = 0;
    ${inner}
    return acc;`;
  };
  const source = kernelSource(['x', 'w0', 'w1'], `${threadCoords(common.layout, plane, C)}
  ${segmentBranches(segs, body)}`);
  return {
    spec: {
      name: `fused-gpujs-${order}`,
      stages: [{ source, output: stageOutput(common.layout, plane, N * C), args: ['x', 'w0', 'w1'] }],
      precision: common.precision,
      pipeline: common.pipeline,
      outputElements: N * C * plane.rows * plane.cols,
    },
    weights: ['cell-a', 'cell-b'],
    executed: { multiplies: macs, adds: macs, macs },
  };
}

export const fusedGpujsFor = (backend: GpuJsBackendName): KernelVariant<NeoCellProblem> =>
  gpujsVariant<NeoCellProblem>(backend, {
    name: 'fused-gpujs',
    op: 'neocell',
    role: 'neocell',
    chain: false,
    terms: true,
    extraParams: () => [{ name: 'order', values: ['BA', 'AB'], doc: 'inner sum over the B block (BA) or over the A block (AB)' }],
    extraDefaults: () => ({ order: 'BA' }),
    sizes: (problem) => cellSizes(problem, problem.cell),
    plan: (problem, params, common) => fusedPlan(problem, params.order as 'AB' | 'BA', common),
  });
