/**
 * Strassen-like (gpu.js): the A pass by Winograd's inner-product scheme, as a chain of three
 * kernels. U = X·B (the B pass); η[band][j] = Σ_pairs U[2i]·U[2i+1] once per band and column;
 * then Y[p] = Σ_pairs (a_2i + U_2i+1)(a_2i+1 + U_2i) (+ a_last·U_last for odd k) − ξ_p − η, with
 * ξ_p = Σ_pairs a_2i·a_2i+1 precomputed per channel on the host. The A pass costs ⌈k/2⌉
 * multiplications per output plus ⌊k/2⌋ per band column instead of k. Rows outside the image
 * (partial blocks, shifted corners) enter as U = 0, for which the identity still holds.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import type { GpuJsStage } from './runner.js';
import { bPassStage, cellSizes } from './sparse-gpujs.js';
import { at, blockOf, kernelSource, repeat, segmentBranches, stageOutput, threadCoords } from './source.js';
import { type CommonParams, type GpuJsBackendName, gpujsVariant } from './variant.js';
import type { GpuJsPlanParts } from './plan.js';
import { cellSegments, groupWeightOffsets, segmentOutput } from '../../core/structure.js';

export function winogradPlan(p: NeoCellProblem, common: CommonParams): GpuJsPlanParts {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, H, W);
  const off = groupWeightOffsets(p.cell);
  const L = common.layout;
  const uPlane = { rows: H, cols: W_out };
  // Band t of a segment runs from tMin (−1 when shifted: the corner block) to tMax.
  const bands = segs.map((s) => ({ tMin: s.offA > 0 ? -1 : 0, tMax: Math.floor((H_out - 1 - s.offA) / s.a.out) }));
  const maxBands = Math.max(...bands.map((b) => b.tMax - b.tMin + 1));
  const etaPlane = { rows: maxBands, cols: W_out };
  const outPlane = { rows: H_out, cols: W_out };
  // U of input row `ra + q` (0 outside the image).
  const loadU = (q: string, k: string) => `let u${k} = 0;
    if (ra + ${q} >= 0 && ra + ${q} < ${H}) { u${k} = ${at('s0', L, uPlane, `ra + ${q}`, 'col')}; }`;
  let multiplies = 0;
  let adds = 0;
  const eta = segmentBranches(segs, (s) => {
    const i = segs.indexOf(s);
    const pairs = Math.floor(s.a.in / 2);
    return `const ra = (row + ${bands[i]!.tMin}) * ${s.a.in} + ${s.offA};
    let acc = 0;
    ${repeat(pairs, common.unroll, 'i', (q, k) => `${loadU(`2 * ${q}`, `e${k}`)}
    ${loadU(`2 * ${q} + 1`, `o${k}`)}
    acc += ue${k} * uo${k};`)}
    return acc;`;
  });
  const combine = segmentBranches(segs, (s) => {
    const i = segs.indexOf(s);
    const { a } = s;
    const pairs = Math.floor(a.in / 2);
    const odd = a.in % 2 === 1;
    const n = N * (s.c1 - s.c0);
    multiplies += n * (H * W_out * s.b.in + (bands[i]!.tMax - bands[i]!.tMin + 1) * W_out * pairs + H_out * W_out * (pairs + (odd ? 1 : 0)));
    adds += n * (H * W_out * s.b.in + (bands[i]!.tMax - bands[i]!.tMin + 1) * W_out * pairs + H_out * W_out * (3 * pairs + (odd ? 1 : 0) + 2));
    return `${blockOf('row', a.out, s.offA, 't', 'pa')}
    const ra = t * ${a.in} + ${s.offA};
    const wa = ${off[s.group]!.a} + cl * ${a.in * a.out} + pa * ${a.in};
    let acc = 0;
    ${odd ? `${loadU(String(a.in - 1), 'l')}\n    acc = w0[wa + ${a.in - 1}] * ul;` : ''}
    ${repeat(pairs, common.unroll, 'i', (q, k) => `${loadU(`2 * ${q}`, `e${k}`)}
    ${loadU(`2 * ${q} + 1`, `o${k}`)}
    acc += (w0[wa + 2 * ${q}] + uo${k}) * (w0[wa + 2 * ${q} + 1] + ue${k});`)}
    return acc - w2[${off[s.group]!.xi} + cl * ${a.out} + pa] - ${at('s1', L, etaPlane, `t - ${bands[i]!.tMin}`, 'col')};`;
  });
  const x = { name: 'x', plane: { rows: H, cols: W } };
  const stages: GpuJsStage[] = [
    bPassStage(p, x, common),
    { source: kernelSource(['s0'], `${threadCoords(L, etaPlane, C)}\n  ${eta}`), output: stageOutput(L, etaPlane, N * C), args: ['s0'] },
    { source: kernelSource(['s0', 's1', 'w0', 'w2'], `${threadCoords(L, outPlane, C)}\n  ${combine}`), output: stageOutput(L, outPlane, N * C), args: ['s0', 's1', 'w0', 'w2'] },
  ];
  return {
    spec: { name: 'winograd-gpujs', stages, precision: common.precision, pipeline: common.pipeline, outputElements: N * C * H_out * W_out },
    weights: ['cell-a', 'cell-b', 'winograd-xi'],
    executed: { multiplies, adds, macs: multiplies },
  };
}

export const winogradGpujsFor = (backend: GpuJsBackendName): KernelVariant<NeoCellProblem> =>
  gpujsVariant<NeoCellProblem>(backend, {
    name: 'winograd-gpujs',
    op: 'neocell',
    role: 'neocell',
    chain: true,
    terms: true,
    sizes: (problem) => {
      const p = problem;
      const s = cellSizes(p, p.cell);
      return { ...s, extraElements: p.N * p.C * p.H * s.out.cols };
    },
    plan: (problem, _params, common) => winogradPlan(problem, common),
  });
