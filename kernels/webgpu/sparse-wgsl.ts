/**
 * sparse (WGSL): two passes of k-term sums through an intermediate buffer, A then B or B then A
 * (`order`; for rectangular blocks the cheaper order matters). One invocation per element of each
 * pass's output; both passes are entry points of one module, dispatched in order in one compute
 * pass. Every channel segment (group × shift sub-group) is a branch with its constants.
 */
import { cellCost } from '../../core/flops.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { workgroupSizes } from './wgsl.js';
import { bindings, checkImageChunks, chunkOf, entryPoint, imagePlanes } from './wgsl.js';
import { cellSegments, cheaperOrder, groupWeightOffsets, type Segment, segmentOutput } from '../../core/structure.js';
import type { DeviceInfo, Params } from '../../harness/types.js';
import type { GpuKernelSpec } from './instance.js';

/** Block index and position of output index `i` on an axis with `out`-sized blocks at `offset`. */
const blockOf = (i: string, out: number, offset: number, t: string, p: string) =>
  `let ${i}o = i32(${i}) - ${offset};
    var ${t} = -1;
    if (${i}o >= 0) { ${t} = ${i}o / ${out}; }
    let ${p} = ${i}o - ${t} * ${out};`;

export function sparseWgsl(p: NeoCellProblem, order: 'AB' | 'BA', wg: number) {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, H, W);
  const base = groupWeightOffsets(p.cell);
  // Pass shapes: A maps rows (H → H_out) over `aw` columns; B maps columns (W → W_out) over `bh` rows.
  const aw = order === 'AB' ? W : W_out;
  const bh = order === 'AB' ? H_out : H;
  const aSrc = order === 'AB' ? 'x' : 's';
  const aDst = order === 'AB' ? 's' : 'y';
  const bSrc = order === 'AB' ? 's' : 'x';
  const bDst = order === 'AB' ? 'y' : 's';
  const planeOf = (buf: string) => (buf === 'x' ? H * W : buf === 'y' ? H_out * W_out : order === 'AB' ? H_out * W : H * W_out);
  const branch = (s: Segment, body: string) => `if (c >= ${s.c0}u && c < ${s.c1}u) {
    let cl = i32(c) - ${s.c0 - s.local0};
    ${body}
    return;
  }`;
  const aPass = segs.map((s) =>
    branch(
      s,
      `${blockOf('r', s.a.out, s.offA, 't', 'pa')}
    let wa = ${base[s.group]!.a} + cl * ${s.a.in * s.a.out} + pa * ${s.a.in};
    var acc = 0.0;
    for (var q = 0; q < ${s.a.in}; q++) {
      let ri = t * ${s.a.in} + ${s.offA} + q;
      if (ri >= 0 && ri < ${H}) { acc += a[u32(wa + q)] * ${aSrc}[nc * ${planeOf(aSrc)}u + u32(ri * ${aw}) + col]; }
    }
    ${aDst}[nc * ${planeOf(aDst)}u + r * ${aw}u + col] = acc;`,
    ),
  );
  const bPass = segs.map((s) =>
    branch(
      s,
      `${blockOf('j', s.b.out, s.offB, 'tb', 'pb')}
    let wb = ${base[s.group]!.b} + cl * ${s.b.in * s.b.out} + pb;
    var acc = 0.0;
    for (var q = 0; q < ${s.b.in}; q++) {
      let ci = tb * ${s.b.in} + ${s.offB} + q;
      if (ci >= 0 && ci < ${W}) { acc += ${bSrc}[nc * ${planeOf(bSrc)}u + row * ${W}u + u32(ci)] * b[u32(wb + q * ${s.b.out})]; }
    }
    ${bDst}[nc * ${planeOf(bDst)}u + row * ${W_out}u + j] = acc;`,
    ),
  );
  const wgsl = `// neotune sparse-wgsl ${order}: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
${bindings(['a', 'b'], 's')}

${entryPoint('passA', wg, C, ['col', aw], 'r', aPass.join(' else '))}

${entryPoint('passB', wg, C, ['j', W_out], 'row', bPass.join(' else '))}
`;
  const passA = { entry: 'passA', dispatch: [Math.ceil(aw / wg), H_out, N * C] as [number, number, number] };
  const passB = { entry: 'passB', dispatch: [Math.ceil(W_out / wg), bh, N * C] as [number, number, number] };
  return { wgsl, passes: order === 'AB' ? [passA, passB] : [passB, passA], scratchElements: N * C * (order === 'AB' ? H_out * W : H * W_out), outputElements: N * C * H_out * W_out };
}

/** Elements per image of x, y and the intermediate (H_out × W after A, H × W_out after B). */
function planes(p: NeoCellProblem, order: 'AB' | 'BA'): number[] {
  const { H_out, W_out } = segmentOutput(cellSegments(p.cell)[0]!, p.H, p.W);
  return imagePlanes(p, order === 'AB' ? H_out * p.W : p.H * W_out);
}

export const sparseWgslFor = (backend: 'webgpu' | 'webgpu-browser'): KernelVariant<NeoCellProblem> => ({
  backend,
  name: 'sparse-wgsl',
  op: 'neocell',
  role: 'neocell',
  params: (_p, device) => [
    { name: 'order', values: ['AB', 'BA'], doc: 'which axis first (AB: A on rows into the intermediate, then B)' },
    { name: 'wg', values: workgroupSizes(device), doc: 'workgroup size (invocations along a row)' },
  ],
  defaults: (p, device) => ({ order: cheaperOrder(p), wg: Math.min(64, Math.max(...workgroupSizes(device))) }),
  check: (problem, params, device) => checkImageChunks(problem, device, planes(problem, params.order as 'AB' | 'BA'), problem.C),
  generate,
});

/** The sparse kernel's description (pure). */
function generate(problem: NeoCellProblem, params: Params, device: DeviceInfo): GpuKernelSpec {
  const whole = problem;
  const order = params.order as 'AB' | 'BA';
  const { chunk: p, count } = chunkOf(whole, device, planes(whole, order), whole.C);
  const g = sparseWgsl(p, order, Number(params.wg));
  const c = cellCost(whole.cell, whole.N, whole.H, whole.W);
  const macs = order === 'AB' ? c.usefulAFirst : c.usefulBFirst;
  return {
    kind: 'wgsl',
    name: `sparse-wgsl-${order}-wg${params.wg}`,
    source: g.wgsl,
    passes: g.passes,
    chunks: count,
    scratchElements: g.scratchElements * count,
    outputElements: g.outputElements * count,
    weights: ['cell-a', 'cell-b'],
    executed: { multiplies: macs, adds: macs, macs },
  };
}
