/**
 * sparse (gpu.js): a chain of two kernels of k-term sums, A then B or B then A (`order`), the
 * intermediate in a texture (pipeline mode) or read back and re-uploaded (`pipeline` off): 2k
 * multiply-adds per output, against fused-gpujs's k² + k in one kernel. The two axis passes are
 * also the first stage of winograd-gpujs.
 */
import { cellCost } from '../../core/flops.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import type { GpuJsLayout, GpuJsStage } from './runner.js';
import { at, blockOf, kernelSource, type Plane, segmentBranches, stageOutput, termSum, threadCoords } from './source.js';
import { type CommonParams, type GpuJsBackendName, gpujsVariant } from './variant.js';
import type { GpuJsPlanParts } from './plan.js';
import { cellSegments, cheaperOrder, groupWeightOffsets, segmentOutput } from '../../core/structure.js';

/** A pass's source array: the problem input x (always flat) or an earlier stage's result. */
export interface PassInput {
  readonly name: string;
  readonly plane: Plane;
}

function read(src: PassInput, layout: GpuJsLayout, r: string, cc: string): string {
  return src.name === 'x' ? `x[(nc * ${src.plane.rows} + ${r}) * ${src.plane.cols} + ${cc}]` : at(src.name, layout, src.plane, r, cc);
}

/** Weight arguments: w0 = A blocks, w1 = B blocks (groups concatenated). */
const WEIGHT_ARGS = ['w0', 'w1'];

/** The A pass (rows, H → H_out) over `src`, one thread per output element. */
export function aPassStage(p: NeoCellProblem, src: PassInput, common: CommonParams): GpuJsStage {
  const segs = cellSegments(p.cell);
  const off = groupWeightOffsets(p.cell);
  const { H_out } = segmentOutput(segs[0]!, p.H, p.W);
  const out = { rows: H_out, cols: src.plane.cols };
  const body = segmentBranches(segs, (s) => {
    const { a } = s;
    return `${blockOf('row', a.out, s.offA, 't', 'pa')}
    const ra = t * ${a.in} + ${s.offA};
    const wa = ${off[s.group]!.a} + cl * ${a.in * a.out} + pa * ${a.in};
    let acc = 0;
    ${termSum('acc', a.in, common.unroll, 'q', (q) => ({ guard: `ra + ${q} >= 0 && ra + ${q} < ${p.H}`, body: `w0[wa + ${q}] * ${read(src, common.layout, `ra + ${q}`, 'col')}` }))}
    return acc;`;
  });
  return { source: kernelSource([src.name, ...WEIGHT_ARGS], `${threadCoords(common.layout, out, p.C)}\n  ${body}`), output: stageOutput(common.layout, out, p.N * p.C), args: [src.name, ...WEIGHT_ARGS] };
}

/** The B pass (columns, W → W_out) over `src`. */
export function bPassStage(p: NeoCellProblem, src: PassInput, common: CommonParams): GpuJsStage {
  const segs = cellSegments(p.cell);
  const off = groupWeightOffsets(p.cell);
  const { W_out } = segmentOutput(segs[0]!, p.H, p.W);
  const out = { rows: src.plane.rows, cols: W_out };
  const body = segmentBranches(segs, (s) => {
    const { b } = s;
    return `${blockOf('col', b.out, s.offB, 'tb', 'pb')}
    const cb = tb * ${b.in} + ${s.offB};
    const wb = ${off[s.group]!.b} + cl * ${b.in * b.out} + pb;
    let acc = 0;
    ${termSum('acc', b.in, common.unroll, 'r', (r) => ({ guard: `cb + ${r} >= 0 && cb + ${r} < ${p.W}`, body: `${read(src, common.layout, 'row', `cb + ${r}`)} * w1[wb + ${r} * ${b.out}]` }))}
    return acc;`;
  });
  return { source: kernelSource([src.name, ...WEIGHT_ARGS], `${threadCoords(common.layout, out, p.C)}\n  ${body}`), output: stageOutput(common.layout, out, p.N * p.C), args: [src.name, ...WEIGHT_ARGS] };
}


export function sparsePlan(p: NeoCellProblem, order: 'AB' | 'BA', common: CommonParams): GpuJsPlanParts {
  const { H_out, W_out } = segmentOutput(cellSegments(p.cell)[0]!, p.H, p.W);
  const x = { name: 'x', plane: { rows: p.H, cols: p.W } };
  const stages =
    order === 'AB'
      ? [aPassStage(p, x, common), bPassStage(p, { name: 's0', plane: { rows: H_out, cols: p.W } }, common)]
      : [bPassStage(p, x, common), aPassStage(p, { name: 's0', plane: { rows: p.H, cols: W_out } }, common)];
  const c = cellCost(p.cell, p.N, p.H, p.W);
  const macs = order === 'AB' ? c.usefulAFirst : c.usefulBFirst;
  return {
    spec: { name: `sparse-gpujs-${order}`, stages, precision: common.precision, pipeline: common.pipeline, outputElements: p.N * p.C * H_out * W_out },
    weights: ['cell-a', 'cell-b'],
    executed: { multiplies: macs, adds: macs, macs },
  };
}

/** Output plane of a NeoCell problem (the size limits' input). */
export function cellSizes(problem: { H: number; W: number }, cell: NeoCellProblem['cell']): { out: Plane; extraElements: number } {
  const o = segmentOutput(cellSegments(cell)[0]!, problem.H, problem.W);
  return { out: { rows: o.H_out, cols: o.W_out }, extraElements: 0 };
}

export const sparseGpujsFor = (backend: GpuJsBackendName): KernelVariant<NeoCellProblem> =>
  gpujsVariant<NeoCellProblem>(backend, {
    name: 'sparse-gpujs',
    op: 'neocell',
    role: 'neocell',
    chain: true,
    terms: true,
    extraParams: () => [{ name: 'order', values: ['AB', 'BA'], doc: 'which axis first (AB: A on rows into the intermediate, then B)' }],
    extraDefaults: (problem) => ({ order: cheaperOrder(problem) }),
    sizes: (problem) => {
      const p = problem;
      const s = cellSizes(p, p.cell);
      // The intermediate is H_out × W or H × W_out per image.
      return { ...s, extraElements: p.N * p.C * Math.max(s.out.rows * p.W, p.H * s.out.cols) };
    },
    plan: (problem, params, common) => sparsePlan(problem, params.order as 'AB' | 'BA', common),
  });
