/**
 * fused, `tile: shared` (workgroup memory): a workgroup of wgx × wgy invocations handles wgy
 * (image, band of A) items, one per row of invocations. Each row first copies its band's a.in
 * input rows, whole width, into workgroup memory with coalesced loads (consecutive invocations,
 * consecutive addresses; vec4 loads with `vec: 4`), then its invocations sweep the band's output
 * columns: U = X_band · b for the column from workgroup memory (kept in registers), Y = a · U
 * stored row by row, again coalesced (vec4 stores of 4 consecutive columns with `vec: 4`).
 * Every input value is read from global memory once and every output written once; arithmetic is
 * the column tile's 2k multiply-adds per output.
 *
 * Rows of invocations are items of a flattened (image, band) index, so a small image (7×7, one
 * band) still fills a workgroup: wgy items side by side instead of idle lanes. The channel (hence
 * the segment) may then differ between rows of one workgroup, so the workgroup barrier sits
 * between the two phases at the top level, outside every segment branch (uniform control flow).
 */
import type { DeviceInfo, NeoCellProblem } from '../../harness/types.js';
import { bindings } from './wgsl.js';
import { cellSegments, groupWeightOffsets, type Segment, segmentOutput } from '../../core/structure.js';

/** WebGPU's cap on workgroups along one dispatch dimension (maxComputeWorkgroupsPerDimension default). */
const PER_DIMENSION = 65535;

/** Bands of A (first band index tMin) a segment has over H_out output rows. */
export function segmentBands(s: Segment, H_out: number): { tMin: number; bands: number } {
  const tMin = s.offA > 0 ? -1 : 0;
  return { tMin, bands: Math.floor((H_out - 1 - s.offA) / s.a.out) - tMin + 1 };
}

/** Why `vec` / the workgroup memory rule a problem out for the shared tile, or undefined. */
export function checkSharedTile(p: NeoCellProblem, wg: number, wgy: number, vec: number, device: DeviceInfo): string | undefined {
  if (p.dtype === 'float16' && !device.features.includes('shader-f16')) return `float16 needs the adapter feature shader-f16, which this adapter (${device.description}) does not offer`;
  const segs = cellSegments(p.cell);
  const { W_out } = segmentOutput(segs[0]!, p.H, p.W);
  if (wg % wgy !== 0) return `wgy ${wgy} must divide wg ${wg}`;
  if (wgy > (device.limits.maxComputeWorkgroupSizeY ?? 256)) return `wgy ${wgy} exceeds maxComputeWorkgroupSizeY ${device.limits.maxComputeWorkgroupSizeY}`;
  if (vec === 4 && (p.W % 4 !== 0 || W_out % 4 !== 0)) return `vec 4 needs W and W_out divisible by 4 (W ${p.W}, W_out ${W_out}); allowed here: vec 1`;
  const bytes = 4 * wgy * Math.max(...segs.map((s) => s.a.in)) * p.W;
  const most = device.limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (bytes > most) return `the band tiles need ${bytes} bytes of workgroup memory, over maxComputeWorkgroupStorageSize ${most} of this device (use a smaller wgy or another tile)`;
  return undefined;
}

export function fusedSharedWgsl(p: NeoCellProblem, wg: number, wgy: number, vec: 1 | 4, combine: 'direct' | 'winograd') {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const { H_out, W_out } = segmentOutput(segs[0]!, H, W);
  const off = groupWeightOffsets(p.cell);
  const wgx = wg / wgy;
  const rows = Math.max(...segs.map((s) => s.a.in));
  const tile = rows * W; // floats of workgroup memory per row of invocations
  const maxBands = Math.max(...segs.map((s) => segmentBands(s, H_out).bands));
  const items = N * C * maxBands;
  const groups = Math.ceil(items / wgy);
  const T = vec === 4 ? 'vec4<f32>' : 'f32';
  // float16 problems: x and y stored as f16 (half the traffic), converted on load and store;
  // the arithmetic and workgroup memory stay f32.
  const half = p.dtype === 'float16';
  const io = `${vec === 4 ? 'vec4<' : ''}${half ? 'f16' : 'f32'}${vec === 4 ? '>' : ''}`;
  const load32 = (e: string) => (half ? `${T}(${e})` : e);
  const store = (e: string) => (half ? `${io}(${e})` : e);
  const lanes = [...Array(vec).keys()];

  const load = (s: Segment) => {
    const { tMin, bands } = segmentBands(s, H_out);
    // The band's input rows are contiguous in memory (row-major planes): one strided sweep.
    const span = (s.a.in * W) / vec;
    // Element index of the sweep's i-th load, in i32: r0 is negative for the band before a shifted
    // first block, whose rows outside the image are zeros and never read.
    const read = load32(vec === 4 ? `x[u32(e0 + i32(i * 4u)) / 4u]` : `x[u32(e0 + i32(i))]`);
    const put =
      vec === 4
        ? `let v = ${read};
          for (var e = 0u; e < 4u; e++) { xs[sx + i * 4u + e] = v[e]; }`
        : `xs[sx + i] = ${read};`;
    const zero = vec === 4 ? `for (var e = 0u; e < 4u; e++) { xs[sx + i * 4u + e] = 0.0; }` : 'xs[sx + i] = 0.0;';
    return `if (c >= ${s.c0}u && c < ${s.c1}u && band < ${bands}) {
      let r0 = (band + (${tMin})) * ${s.a.in} + ${s.offA};
      let e0 = i32(xb) + r0 * ${W};
      for (var i = lid.x; i < ${span}u; i += ${wgx}u) {
        let ri = r0 + i32(i * ${vec}u / ${W}u);
        if (ri >= 0 && ri < ${H}) {
          ${put}
        } else {
          ${zero}
        }
      }
    }`;
  };

  const compute = (s: Segment) => {
    const { a, b } = s;
    const { tMin, bands } = segmentBands(s, H_out);
    const gb = off[s.group]!;
    const pairs = Math.floor(a.in / 2);
    const odd = a.in % 2;
    // U for each of the invocation's `vec` columns, from workgroup memory.
    const columns = lanes
      .map(
        (v) => `{
          let j = g * ${vec}u + ${v}u;
          let jb = i32(j) - ${s.offB};
          var tb = -1;
          if (jb >= 0) { tb = jb / ${b.out}; }
          let wb = ${gb.b} + cl * ${b.in * b.out} + (jb - tb * ${b.out});
          for (var q = 0; q < ${a.in}; q++) {
            var acc = 0.0;
            for (var qb = 0; qb < ${b.in}; qb++) {
              let ci = tb * ${b.in} + ${s.offB} + qb;
              if (ci >= 0 && ci < ${W}) { acc += xs[sx + u32(q * ${W} + ci)] * b[u32(wb + qb * ${b.out})]; }
            }
            u[q]${vec === 4 ? `[${v}]` : ''} = acc;
          }
        }`,
      )
      .join('\n        ');
    const out = (value: string) => (vec === 4 ? `y[(yb + u32(r * ${W_out})) / 4u + g] = ${store(value)};` : `y[yb + u32(r * ${W_out}) + g] = ${store(value)};`);
    const combineCode =
      combine === 'winograd'
        ? `var eta = ${T}(0.0);
        for (var i = 0; i < ${pairs}; i++) { eta += u[2 * i] * u[2 * i + 1]; }
        for (var pa = 0; pa < ${a.out}; pa++) {
          let r = t * ${a.out} + ${s.offA} + pa;
          if (r >= 0 && r < ${H_out}) {
            let w = u32(wa + pa * ${a.in});
            var acc = ${odd ? `a[w + ${a.in - 1}u] * u[${a.in - 1}]` : `${T}(0.0)`};
            for (var i = 0u; i < ${pairs}u; i++) { acc += (a[w + 2u * i] + u[2u * i + 1u]) * (a[w + 2u * i + 1u] + u[2u * i]); }
            ${out(`acc - xi[u32(${gb.xi} + cl * ${a.out} + pa)] - eta`)}
          }
        }`
        : `for (var pa = 0; pa < ${a.out}; pa++) {
          let r = t * ${a.out} + ${s.offA} + pa;
          if (r >= 0 && r < ${H_out}) {
            var acc = ${T}(0.0);
            for (var q = 0; q < ${a.in}; q++) { acc += a[u32(wa + pa * ${a.in} + q)] * u[q]; }
            ${out('acc')}
          }
        }`;
    return `if (c >= ${s.c0}u && c < ${s.c1}u && band < ${bands}) {
      let t = band + (${tMin});
      let cl = i32(c) - ${s.c0 - s.local0};
      let wa = ${gb.a} + cl * ${a.in * a.out};
      for (var g = lid.x; g < ${W_out / vec}u; g += ${wgx}u) {
        var u: array<${T}, ${a.in}>;
        ${columns}
        ${combineCode}
      }
    }`;
  };

  const wgsl = `${half ? 'enable f16;\n' : ''}// neotune fused-wgsl tile=shared wg=${wgx}x${wgy} vec=${vec} combine=${combine} ${p.dtype}: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
${bindings(combine === 'winograd' ? ['a', 'b', 'xi'] : ['a', 'b'], undefined, 'f32', io)}
var<workgroup> xs: array<f32, ${wgy * tile}>;

@compute @workgroup_size(${wgx}, ${wgy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Row lid.y of the workgroup is item (image nc, band); items past the end load and store nothing.
  let item = (wid.x + wid.y * ${PER_DIMENSION}u) * ${wgy}u + lid.y;
  let nc = item / ${maxBands}u;
  let band = i32(item % ${maxBands}u);
  let live = nc < ${N * C}u;
  let c = nc % ${C}u;
  let xb = nc * ${H * W}u;
  let yb = nc * ${H_out * W_out}u;
  let sx = lid.y * ${tile}u;
  if (live) {
    ${segs.map(load).join(' else ')}
  }
  workgroupBarrier();
  if (live) {
    ${segs.map(compute).join(' else ')}
  }
}
`;
  return {
    wgsl,
    dispatch: [Math.min(groups, PER_DIMENSION), Math.ceil(groups / PER_DIMENSION), 1] as [number, number, number],
    outputElements: N * C * H_out * W_out,
  };
}
