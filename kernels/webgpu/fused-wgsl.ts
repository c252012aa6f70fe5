/**
 * fused (WGSL): one invocation per output column of one band of A, for one channel image: it
 * forms the band's `in` intermediate values U[q] = Σ X[row q][block cols] · b[·][col] (the B pass
 * for this column, kept in registers) and writes the band's `out` outputs Y = a · U: 2k
 * multiply-adds per output, no intermediate in memory. Code is specialised per problem: every
 * channel segment (group × shift sub-group) is a branch with its sizes and offsets as constants.
 */
import { elementBytes } from '../../harness/problem.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { workgroupSizes } from './wgsl.js';
import { checkSharedTile, fusedSharedWgsl, segmentBands } from './fused-shared.js';
import { bindings, checkImageChunks, chunkOf, imagePlanes, times } from './wgsl.js';
import { cellSegments, groupWeightOffsets, segmentOutput } from '../../core/structure.js';
import type { DeviceInfo, Params } from '../../harness/types.js';
import type { GpuKernelSpec } from './instance.js';

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
  const groupBase = groupWeightOffsets(p.cell);
  let maxBands = 0;
  const branches = segs.map((s) => {
    const { tMin, bands } = segmentBands(s, H_out);
    maxBands = Math.max(maxBands, bands);
    const pairs = Math.floor(s.a.in / 2);
    const odd = s.a.in % 2;
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
  const entry = bandEntry(wg, W_out, `let j = gid.x;
  if (j >= ${W_out}u) { return; }`, p, maxBands, H * W, H_out * W_out, branches.join(' else '));
  const wgsl = `// neotune fused-wgsl: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
${bindings(combine === 'winograd' ? ['a', 'b', 'xi'] : ['a', 'b'])}

${entry.code}`;
  return { wgsl, dispatch: entry.dispatch, ...columnTileCounts(p, combine), outputElements: N * C * H_out * W_out };
}

/**
 * Work of the column tile, and of the shared tile (the same arithmetic per band column): per
 * (image, channel, band, output column) the B pass's a.in·b.in multiply-adds and the A step,
 * direct (a.out·a.in) or Winograd (31 instead of 49 multiplications for k = 7).
 */
export function columnTileCounts(p: NeoCellProblem, combine: 'direct' | 'winograd'): { macs: number; multiplies: number; adds: number } {
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, p.H, p.W);
  let macs = 0;
  let multiplies = 0;
  let adds = 0;
  for (const s of segs) {
    const invocations = p.N * (s.c1 - s.c0) * segmentBands(s, H_out).bands * W_out;
    const pairs = Math.floor(s.a.in / 2);
    const odd = s.a.in % 2;
    const combineMults = combine === 'winograd' ? s.a.out * (pairs + odd) + pairs : s.a.out * s.a.in;
    const combineAdds = combine === 'winograd' ? s.a.out * (3 * pairs + odd + 1) + pairs : s.a.out * s.a.in;
    macs += invocations * (s.a.in * s.b.in + s.a.out * s.a.in);
    multiplies += invocations * (s.a.in * s.b.in + combineMults);
    adds += invocations * (s.a.in * s.b.in + combineAdds);
  }
  return { macs, multiplies, adds };
}

/**
 * fused, `tile: block` (register blocking): one invocation per (band of A, block of B), i.e.
 * a.out × b.out outputs. It loads its a.in × b.in input tile once, forms U = X_tile · b
 * (a.in × b.out, in registers) and writes Y = a · U: 2k multiply-adds per output as with one column
 * per invocation, but each input value and each weight is loaded once per output instead of
 * about 3k times (the load-bound limit measured on the H200, ../shared/PLATFORM.md). With
 * `combine: winograd`, η is formed once per output column of the block and shared by its a.out rows.
 */
export function fusedBlockWgsl(p: NeoCellProblem, wg: number, combine: 'direct' | 'winograd' = 'direct') {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, H, W);
  const off = groupWeightOffsets(p.cell);
  let maxBands = 0;
  let maxBlocks = 0;
  let multiplies = 0;
  let adds = 0;
  let macs = 0;
  const branches = segs.map((s) => {
    const { a, b } = s;
    const { tMin, bands } = segmentBands(s, H_out);
    const tbMin = s.offB > 0 ? -1 : 0;
    const blocks = Math.floor((W_out - 1 - s.offB) / b.out) - tbMin + 1;
    maxBands = Math.max(maxBands, bands);
    maxBlocks = Math.max(maxBlocks, blocks);
    const tiles = N * (s.c1 - s.c0) * bands * blocks;
    const pairs = Math.floor(a.in / 2);
    const odd = a.in % 2;
    macs += tiles * (a.in * b.in * b.out + a.out * a.in * b.out);
    const combineMults = combine === 'winograd' ? b.out * (a.out * (pairs + odd) + pairs) : a.out * a.in * b.out;
    const combineAdds = combine === 'winograd' ? b.out * (a.out * (3 * pairs + odd + 1) + pairs) : a.out * a.in * b.out;
    multiplies += tiles * (a.in * b.in * b.out + combineMults);
    adds += tiles * (a.in * b.in * b.out + combineAdds);
    const gb = off[s.group]!;
    const combineCode =
      combine === 'winograd'
        ? `var eta = 0.0;
          for (var i = 0; i < ${pairs}; i++) { eta += u[2 * i][pb] * u[2 * i + 1][pb]; }
          for (var pa = 0; pa < ${a.out}; pa++) {
            let r = t * ${a.out} + ${s.offA} + pa;
            if (r >= 0 && r < ${H_out}) {
              let w = u32(wa + pa * ${a.in});
              var acc = ${odd ? `a[w + ${a.in - 1}u] * u[${a.in - 1}][pb]` : '0.0'};
              for (var i = 0u; i < ${pairs}u; i++) { acc += (a[w + 2u * i] + u[2u * i + 1u][pb]) * (a[w + 2u * i + 1u] + u[2u * i][pb]); }
              y[yb + u32(r * ${W_out} + col)] = acc - xi[u32(${gb.xi} + cl * ${a.out} + pa)] - eta;
            }
          }`
        : `for (var pa = 0; pa < ${a.out}; pa++) {
            let r = t * ${a.out} + ${s.offA} + pa;
            if (r >= 0 && r < ${H_out}) {
              var acc = 0.0;
              for (var q = 0; q < ${a.in}; q++) { acc += a[u32(wa + pa * ${a.in} + q)] * u[q][pb]; }
              y[yb + u32(r * ${W_out} + col)] = acc;
            }
          }`;
    return `if (c >= ${s.c0}u && c < ${s.c1}u) {
    if (band >= ${bands} || blk >= ${blocks}) { return; }
    let t = band + (${tMin});
    let tb = blk + (${tbMin});
    let cl = i32(c) - ${s.c0 - s.local0};
    let wa = ${gb.a} + cl * ${a.in * a.out};
    let wb = ${gb.b} + cl * ${b.in * b.out};
    var u: array<array<f32, ${b.out}>, ${a.in}>;
    for (var q = 0; q < ${a.in}; q++) {
      let ri = t * ${a.in} + ${s.offA} + q;
      if (ri >= 0 && ri < ${H}) {
        for (var r = 0; r < ${b.in}; r++) {
          let ci = tb * ${b.in} + ${s.offB} + r;
          if (ci >= 0 && ci < ${W}) {
            let xv = x[xb + u32(ri * ${W} + ci)];
            for (var pb = 0; pb < ${b.out}; pb++) { u[q][pb] += xv * b[u32(wb + r * ${b.out} + pb)]; }
          }
        }
      }
    }
    for (var pb = 0; pb < ${b.out}; pb++) {
      let col = tb * ${b.out} + ${s.offB} + pb;
      if (col >= 0 && col < ${W_out}) {
        ${combineCode}
      }
    }
    return;
  }`;
  });
  const entry = bandEntry(wg, maxBlocks, 'let blk = i32(gid.x);', p, maxBands, H * W, H_out * W_out, branches.join(' else '));
  const wgsl = `// neotune fused-wgsl tile=block combine=${combine}: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
${bindings(combine === 'winograd' ? ['a', 'b', 'xi'] : ['a', 'b'])}

${entry.code}`;
  return { wgsl, dispatch: entry.dispatch, macs, multiplies, adds, outputElements: N * C * H_out * W_out };
}

/** WebGPU's cap on workgroups along one dispatch dimension (maxComputeWorkgroupsPerDimension default). */
const PER_DIMENSION = 65535;

/**
 * The column and block tiles' entry point and dispatch. gid.x is the column (or column block);
 * the other axis is a flattened (image, band) item. The workgroup of `wg` invocations is shaped to
 * the problem: x just covers the `columns` (a power of two, at most wg), the rest of it stacks items
 * along y, so a 7-column image fills 28 of 32 lanes instead of 7. Items run over y then z, so no
 * dimension exceeds its limit whatever N·C. (wgy ≤ wg ≤ 256, within every adapter's maxComputeWorkgroupSizeY.)
 */
function bandEntry(wg: number, columns: number, column: string, p: { N: number; C: number }, maxBands: number, planeIn: number, planeOut: number, body: string) {
  const wgx = Math.min(wg, 2 ** Math.ceil(Math.log2(Math.max(1, columns))));
  const wgy = wg / wgx;
  const items = p.N * p.C * maxBands;
  const groups = Math.ceil(items / wgy);
  const code = `@compute @workgroup_size(${wgx}, ${wgy})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${column}
  let item = (wid.y + wid.z * ${PER_DIMENSION}u) * ${wgy}u + lid.y;
  if (item >= ${items}u) { return; }
  let nc = item / ${maxBands}u;
  let band = i32(item % ${maxBands}u);
  let c = nc % ${p.C}u;
  let xb = nc * ${planeIn}u;
  let yb = nc * ${planeOut}u;
  ${body}
}
`;
  return { code, dispatch: [Math.ceil(columns / wgx), Math.min(groups, PER_DIMENSION), Math.ceil(groups / PER_DIMENSION)] as [number, number, number] };
}

const fusedFamily = (backend: 'webgpu' | 'webgpu-browser', name: string, combine: 'direct' | 'winograd'): KernelVariant<NeoCellProblem> => ({
  backend,
  name,
  op: 'neocell',
  role: 'neocell',
  params: (problem, device) => {
    const p = problem;
    const { W_out } = segmentOutput(cellSegments(p.cell)[0]!, p.H, p.W);
    return [
      { name: 'tile', values: ['column', 'block', 'shared'], doc: 'outputs per invocation and where the input goes: one column of a band, a whole block a.out × b.out (register blocking), or the band staged in workgroup memory by coalesced loads' },
      { name: 'wg', values: workgroupSizes(device), doc: 'invocations per workgroup' },
      { name: 'wgy', values: [1, 4, 16].filter((y) => y <= (device.limits.maxComputeWorkgroupSizeY ?? 256)), doc: 'tile shared: workgroup shape (wg / wgy) × wgy, one (image, band) item per row of invocations' },
      { name: 'vec', values: p.W % 4 === 0 && W_out % 4 === 0 ? [1, 4] : [1], doc: 'tile shared: output columns per invocation; 4 uses vec4 loads and stores (W and W_out divisible by 4)' },
    ];
  },
  defaults: (p, device) => ({ tile: p.dtype === 'float16' ? 'shared' : 'column', wg: Math.min(64, Math.max(...workgroupSizes(device))), wgy: 1, vec: 1 }),
  // float16: tile shared only, on adapters with shader-f16 (x and y in f16, f32 arithmetic).
  dtypes: ['float32', 'float16'],
  check(problem, params, device) {
    const p = problem;
    if (params.tile !== 'shared' && (params.wgy !== 1 || params.vec !== 1)) return `wgy and vec apply to tile shared only (tile ${params.tile} takes wgy 1, vec 1)`;
    if (params.tile !== 'shared' && p.dtype !== 'float32') return `dtype ${p.dtype} runs with tile shared only (tile ${params.tile} computes float32)`;
    return checkImageChunks(p, device, imagePlanes(p), 0, elementBytes(p.dtype)) ?? (params.tile === 'shared' ? checkSharedTile(p, Number(params.wg), Number(params.wgy), Number(params.vec), device) : undefined);
  },
  generate: (problem, params, device) => generateFused(name, combine, problem, params, device),
});

/** A fused (or Strassen-like) kernel's description (pure). */
function generateFused(name: string, combine: 'direct' | 'winograd', problem: NeoCellProblem, params: Params, device: DeviceInfo): GpuKernelSpec {
  const whole = problem;
  const { chunk: p, count } = chunkOf(whole, device, imagePlanes(whole), 0, elementBytes(whole.dtype));
  const wg = Number(params.wg);
  const g =
    params.tile === 'block'
      ? fusedBlockWgsl(p, wg, combine)
      : params.tile === 'shared'
        ? { ...columnTileCounts(p, combine), ...fusedSharedWgsl(p, wg, Number(params.wgy), Number(params.vec) as 1 | 4, combine) }
        : fusedWgsl(p, wg, combine);
  const shape = params.tile === 'shared' ? `-wg${wg / Number(params.wgy)}x${params.wgy}-vec${params.vec}` : `-wg${wg}`;
  return {
    kind: 'wgsl',
    name: `${name}-${params.tile}${shape}`,
    source: g.wgsl,
    dispatch: g.dispatch,
    chunks: count,
    io: whole.dtype === 'float16' ? 'f16' : 'f32',
    outputElements: g.outputElements * count,
    weights: combine === 'winograd' ? ['cell-a', 'cell-b', 'winograd-xi'] : ['cell-a', 'cell-b'],
    executed: times({ multiplies: g.multiplies, adds: g.adds, macs: g.macs }, count),
  };
}

export const fusedWgslFor = (backend: 'webgpu' | 'webgpu-browser') => fusedFamily(backend, 'fused-wgsl', 'direct');
/** Strassen-like: the fused kernel with Winograd inner products for the A step. */
export const winogradWgslFor = (backend: 'webgpu' | 'webgpu-browser') => fusedFamily(backend, 'winograd-wgsl', 'winograd');
