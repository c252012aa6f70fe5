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

export function fusedWgsl(p: NeoCellProblem, wg: number): { wgsl: string; dispatch: [number, number, number]; macs: number; outputElements: number } {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, H, W);
  // Weight offsets of each group in the concatenated A and B buffers.
  let aOff = 0;
  let bOff = 0;
  const groupBase = p.cell.groups.map((g) => {
    const r = { a: aOff, b: bOff };
    aOff += g.channels * g.a.in * g.a.out;
    bOff += g.channels * g.b.in * g.b.out;
    return r;
  });
  let maxBands = 0;
  let macs = 0;
  const branches = segs.map((s) => {
    const tMin = s.offA > 0 ? -1 : 0;
    const tMax = Math.floor((H_out - 1 - s.offA) / s.a.out);
    const bands = tMax - tMin + 1;
    maxBands = Math.max(maxBands, bands);
    macs += N * (s.c1 - s.c0) * bands * W_out * (s.a.in * s.b.in + s.a.out * s.a.in);
    const gb = groupBase[s.group]!;
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
    for (var pa = 0; pa < ${s.a.out}; pa++) {
      let r = t * ${s.a.out} + ${s.offA} + pa;
      if (r >= 0 && r < ${H_out}) {
        var acc = 0.0;
        for (var qa = 0; qa < ${s.a.in}; qa++) { acc += a[u32(wa + pa * ${s.a.in} + qa)] * u[qa]; }
        y[yb + u32(r * ${W_out}) + j] = acc;
      }
    }
    return;
  }`;
  });
  const wgsl = `// neotune fused-wgsl: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

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
  return { wgsl, dispatch: [Math.ceil(W_out / wg), maxBands, N * C], macs, outputElements: N * C * H_out * W_out };
}

export const fusedWgslFor = (backend: 'webgpu' | 'webgpu-browser'): KernelVariant => ({
  backend,
  name: 'fused-wgsl',
  op: 'neocell',
  role: 'neocell',
  params: (_p, device) => [{ name: 'wg', values: workgroupSizes(device), doc: 'workgroup size (invocations along the output columns)' }],
  defaults: (_p, device) => ({ wg: Math.min(64, Math.max(...workgroupSizes(device))) }),
  check(problem, _params, device) {
    const p = problem as NeoCellProblem;
    const most = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
    if (p.N * p.C > most) return `N·C = ${p.N * p.C} workgroups along z exceed maxComputeWorkgroupsPerDimension ${most} of this device`;
    return undefined;
  },
  async create(problem, params, session) {
    const p = problem as NeoCellProblem;
    const g = fusedWgsl(p, Number(params.wg));
    const flat = (arrs: readonly Float32Array[]) => {
      const out = new Float32Array(arrs.reduce((s, a) => s + a.length, 0));
      let o = 0;
      for (const a of arrs) {
        out.set(a, o);
        o += a.length;
      }
      return out;
    };
    return (session as GpuHostSession).createKernel({
      name: `fused-wgsl-wg${params.wg}`,
      wgsl: g.wgsl,
      dispatch: g.dispatch,
      inputCount: 2,
      outputElements: g.outputElements,
      inputs: (data) => [flat(data.cellWeights!.a), flat(data.cellWeights!.b)],
      executed: { multiplies: g.macs, adds: g.macs, macs: g.macs },
    });
  },
});
