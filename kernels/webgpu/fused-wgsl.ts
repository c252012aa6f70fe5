/**
 * fused (WGSL): one invocation per output column of one band of A, for one channel image: it
 * forms the band's `in` intermediate values U[q] = Σ X[row q][block cols] · b[·][col] (the B pass
 * for this column, kept in registers) and writes the band's `out` outputs Y = a · U: 2k
 * multiply-adds per output, no intermediate in memory. Code is specialised per problem: every
 * channel segment (group × shift sub-group) is a branch with its sizes and offsets as constants.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { cellSegments, segmentOutput } from '../cpu/codegen.js';
import { type GpuHostSession, workgroupSizes } from './session.js';
import { bindings, checkImagesPerDispatch, concatenated } from './wgsl.js';

/**
 * `combine`: how the band's outputs Y[p] = Σ_q a[p][q]·U[q] are formed: directly, or by
 * Winograd's inner-product scheme (the Strassen-like variant): Σ_pairs (a_2i + U_2i+1)(a_2i+1 + U_2i)
 * − ξ_p − η, with ξ_p = Σ_pairs a_2i·a_2i+1 precomputed per channel on the host (buffer xi) and
 * η = Σ_pairs U_2i·U_2i+1 shared by the band's `out` outputs: for k = 7, 31 multiplications
 * instead of 49 per column of a band.
 */
export function fusedWgsl(
  p: NeoCellProblem,
  wg: number,
  combine: 'direct' | 'winograd' = 'direct',
): { wgsl: string; dispatch: [number, number, number]; macs: number; multiplies: number; adds: number; outputElements: number } {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, H, W);
  // Weight offsets of each group in the concatenated A and B buffers.
  let aOff = 0;
  let bOff = 0;
  let xiOff = 0;
  const groupBase = p.cell.groups.map((g) => {
    const r = { a: aOff, b: bOff, xi: xiOff };
    aOff += g.channels * g.a.in * g.a.out;
    bOff += g.channels * g.b.in * g.b.out;
    xiOff += g.channels * g.a.out;
    return r;
  });
  let maxBands = 0;
  let macs = 0;
  let multiplies = 0;
  let adds = 0;
  const branches = segs.map((s) => {
    const tMin = s.offA > 0 ? -1 : 0;
    const tMax = Math.floor((H_out - 1 - s.offA) / s.a.out);
    const bands = tMax - tMin + 1;
    maxBands = Math.max(maxBands, bands);
    const invocations = N * (s.c1 - s.c0) * bands * W_out;
    macs += invocations * (s.a.in * s.b.in + s.a.out * s.a.in);
    const pairs = Math.floor(s.a.in / 2);
    const odd = s.a.in % 2;
    const combineMults = combine === 'winograd' ? s.a.out * (pairs + odd) + pairs : s.a.out * s.a.in;
    const combineAdds = combine === 'winograd' ? s.a.out * (3 * pairs + odd + 1) + pairs : s.a.out * s.a.in;
    multiplies += invocations * (s.a.in * s.b.in + combineMults);
    adds += invocations * (s.a.in * s.b.in + combineAdds);
    const gb = groupBase[s.group]!;
    // ξ has one value per (channel, output row p), groups concatenated (winogradXi).
    const xiBase = gb.xi;
    const winograd = `var eta = 0.0;
    for (var i = 0; i < ${pairs}; i++) { eta += u[2 * i] * u[2 * i + 1]; }
    for (var pa = 0; pa < ${s.a.out}; pa++) {
      let r = t * ${s.a.out} + ${s.offA} + pa;
      if (r >= 0 && r < ${H_out}) {
        let w = u32(wa + pa * ${s.a.in});
        var acc = ${odd ? `a[w + ${s.a.in - 1}u] * u[${s.a.in - 1}]` : '0.0'};
        for (var i = 0u; i < ${pairs}u; i++) { acc += (a[w + 2u * i] + u[2u * i + 1u]) * (a[w + 2u * i + 1u] + u[2u * i]); }
        y[yb + u32(r * ${W_out}) + j] = acc - xi[u32(${xiBase} + cl * ${s.a.out} + pa)] - eta;
      }
    }`;
    return `if (c >= ${s.c0}u && c < ${s.c1}u) {
    if (band >= ${bands}) { return; }
    let t = band + (${tMin});
    let cl = i32(c) - ${s.c0 - s.local0};
    let jb = i32(j) - ${s.offB};
    var tb = -1;
    if (jb >= 0) { tb = jb / ${s.b.out}; }
    let pb = jb - tb * ${s.b.out};
    let wa = ${gb.a} + cl * ${s.a.in * s.a.out};
    let wb = ${gb.b} + cl * ${s.b.in * s.b.out} + pb;
    var u: array<f32, ${s.a.in}>;
    for (var qa = 0; qa < ${s.a.in}; qa++) {
      let ri = t * ${s.a.in} + ${s.offA} + qa;
      var acc = 0.0;
      if (ri >= 0 && ri < ${H}) {
        for (var qb = 0; qb < ${s.b.in}; qb++) {
          let ci = tb * ${s.b.in} + ${s.offB} + qb;
          if (ci >= 0 && ci < ${W}) { acc += x[xb + u32(ri * ${W} + ci)] * b[u32(wb + qb * ${s.b.out})]; }
        }
      }
      u[qa] = acc;
    }
    ${
      combine === 'winograd'
        ? winograd
        : `for (var pa = 0; pa < ${s.a.out}; pa++) {
      let r = t * ${s.a.out} + ${s.offA} + pa;
      if (r >= 0 && r < ${H_out}) {
        var acc = 0.0;
        for (var qa = 0; qa < ${s.a.in}; qa++) { acc += a[u32(wa + pa * ${s.a.in} + qa)] * u[qa]; }
        y[yb + u32(r * ${W_out}) + j] = acc;
      }
    }`
    }
    return;
  }`;
  });
  const wgsl = `// neotune fused-wgsl: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
${bindings(combine === 'winograd' ? ['a', 'b', 'xi'] : ['a', 'b'])}

@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= ${W_out}u) { return; }
  let band = i32(gid.y);
  let nc = gid.z;
  let c = nc % ${C}u;
  let xb = nc * ${H * W}u;
  let yb = nc * ${H_out * W_out}u;
  ${branches.join(' else ')}
}
`;
  return { wgsl, dispatch: [Math.ceil(W_out / wg), maxBands, N * C], macs, multiplies, adds, outputElements: N * C * H_out * W_out };
}

/** ξ_p = Σ_pairs a[p][2i]·a[p][2i+1] for every channel and output row, concatenated like A. */
export function winogradXi(p: NeoCellProblem, a: readonly Float32Array[]): Float32Array {
  const out: number[] = [];
  p.cell.groups.forEach((g, gi) => {
    const w = a[gi]!;
    for (let cl = 0; cl < g.channels; cl++)
      for (let pa = 0; pa < g.a.out; pa++) {
        let xi = 0;
        const row = (cl * g.a.out + pa) * g.a.in;
        for (let i = 0; i + 1 < g.a.in; i += 2) xi += Math.fround(w[row + i]! * w[row + i + 1]!);
        out.push(xi);
      }
  });
  return Float32Array.from(out);
}

const fusedFamily = (backend: 'webgpu' | 'webgpu-browser', name: string, combine: 'direct' | 'winograd'): KernelVariant => ({
  backend,
  name,
  op: 'neocell',
  role: 'neocell',
  params: (_p, device) => [{ name: 'wg', values: workgroupSizes(device), doc: 'workgroup size (invocations along the output columns)' }],
  defaults: (_p, device) => ({ wg: Math.min(64, Math.max(...workgroupSizes(device))) }),
  check: (problem, _params, device) => checkImagesPerDispatch(problem, device),
  async create(problem, params, session) {
    const p = problem as NeoCellProblem;
    const g = fusedWgsl(p, Number(params.wg), combine);
    return (session as GpuHostSession).createKernel({
      name: `${name}-wg${params.wg}`,
      wgsl: g.wgsl,
      dispatch: g.dispatch,
      inputCount: combine === 'winograd' ? 3 : 2,
      outputElements: g.outputElements,
      inputs: (data) => [concatenated(data.cellWeights!.a), concatenated(data.cellWeights!.b), ...(combine === 'winograd' ? [winogradXi(p, data.cellWeights!.a)] : [])],
      executed: { multiplies: g.multiplies, adds: g.adds, macs: g.macs },
    });
  },
});

export const fusedWgslFor = (backend: 'webgpu' | 'webgpu-browser') => fusedFamily(backend, 'fused-wgsl', 'direct');
/** Strassen-like: the fused kernel with Winograd inner products for the A step. */
export const winogradWgslFor = (backend: 'webgpu' | 'webgpu-browser') => fusedFamily(backend, 'winograd-wgsl', 'winograd');
