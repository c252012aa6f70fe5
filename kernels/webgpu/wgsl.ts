/**
 * What the WGSL variants share: the binding declarations in the order the kernel class lays them
 * out (x, y, the inputs, the scratch), the dispatch-size constraint, weights concatenated across
 * groups, the workgroup sizes a device allows and the split of a batch into chunks its limits take
 * (the variant list is variants.ts).
 */
import { cellOutputShape } from '../../core/spec.js';
import type { DeviceInfo, NeoCellProblem, Problem } from '../../harness/types.js';

/**
 * `@binding(i)` declarations: x read-only, y read-write, then `inputs` (read-only), then the
 * scratch; `io` is the element type of x and y (vec4<f32> for vectorised access).
 */
export function bindings(inputs: readonly string[], scratch?: string, element = 'f32', io = element): string {
  const decl = (i: number, mode: string, name: string, t = element) => `@group(0) @binding(${i}) var<storage, ${mode}> ${name}: array<${t}>;`;
  return [decl(0, 'read', 'x', io), decl(1, 'read_write', 'y', io), ...inputs.map((n, i) => decl(2 + i, 'read', n)), ...(scratch ? [decl(2 + inputs.length, 'read_write', scratch)] : [])].join('\n');
}

/**
 * Elements per image of a NeoCell kernel's buffers that grow with the batch (imageChunks): x, y,
 * and an intermediate of `scratch` elements per channel when the kernel has one.
 */
export function imagePlanes(p: NeoCellProblem, scratch?: number): number[] {
  const { H_out, W_out } = cellOutputShape(p.cell, p.H, p.W);
  return [p.C * p.H * p.W, p.C * H_out * W_out, ...(scratch === undefined ? [] : [p.C * scratch])];
}

/**
 * How a problem's batch is split into chunks of whole images, each chunk one dispatch on its own
 * bindings (offsets into the full buffers): `images` per chunk, `count` chunks (1: no split).
 */
export interface ImageChunks {
  readonly images: number;
  readonly count: number;
}

/**
 * The largest chunk of whole images, dividing N, that fits the device: every per-image buffer
 * (`perImage` elements per image: x, y, a scratch) within maxStorageBufferBindingSize, chunk offsets
 * on minStorageBufferOffsetAlignment, and, for kernels with one workgroup row per (image, channel)
 * along z, `zPerImage`·images within maxComputeWorkgroupsPerDimension. A reason naming the limit
 * when no chunk fits (one image over the binding limit, or no aligned chunk).
 */
export function imageChunks(p: Problem, device: DeviceInfo, perImage: readonly number[], zPerImage: number, elementBytes = 4): ImageChunks | string {
  const binding = device.limits.maxStorageBufferBindingSize ?? 134217728;
  const buffer = device.limits.maxBufferSize ?? 268435456;
  const align = device.limits.minStorageBufferOffsetAlignment ?? 256;
  const zMost = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const largest = Math.max(...perImage) * elementBytes;
  if (largest * p.N > buffer) return `a ${largest * p.N}-byte buffer exceeds maxBufferSize ${buffer} of this device`;
  if (largest > binding) return `one image needs a ${largest}-byte buffer, over maxStorageBufferBindingSize ${binding} of this device`;
  if (zPerImage > zMost) return `C = ${zPerImage} workgroups along z exceed maxComputeWorkgroupsPerDimension ${zMost} of this device`;
  for (let m = p.N; m >= 1; m--) {
    if (p.N % m !== 0 || m * largest > binding || m * zPerImage > zMost) continue;
    if (m < p.N && perImage.some((e) => (e * m * elementBytes) % align !== 0)) continue;
    return { images: m, count: p.N / m };
  }
  return `N = ${p.N} images exceed maxStorageBufferBindingSize ${binding} (or ${zMost} workgroups along z) and no chunk of whole images has its offsets on minStorageBufferOffsetAlignment ${align}`;
}

/** `imageChunks` as a constraint: the reason, or undefined when the problem runs (split or not). */
export function checkImageChunks(p: Problem, device: DeviceInfo, perImage: readonly number[], zPerImage: number, elementBytes = 4): string | undefined {
  const c = imageChunks(p, device, perImage, zPerImage, elementBytes);
  return typeof c === 'string' ? c : undefined;
}

/** The problem of one chunk (the kernel is generated for it and dispatched `count` times). */
export function chunkOf<P extends Problem>(p: P, device: DeviceInfo, perImage: readonly number[], zPerImage: number, elementBytes = 4): { chunk: P; count: number } {
  const c = imageChunks(p, device, perImage, zPerImage, elementBytes);
  if (typeof c === 'string') throw new Error(c);
  return { chunk: { ...p, N: c.images }, count: c.count };
}

/** Executed operation counts of `count` chunks. */
export function times<T extends Record<string, number>>(counts: T, count: number): T {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v * count])) as T;
}

/**
 * A compute entry point over (column, row, image): gid.x is the column `col` (< `columns`), gid.y
 * the row `row`, gid.z the (batch, channel) image `nc` with channel `c`.
 */
export function entryPoint(name: string, wg: number, C: number, cols: [string, number], row: string, body: string): string {
  return `@compute @workgroup_size(${wg})
fn ${name}(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ${cols[0]} = gid.x;
  let ${row} = gid.y;
  if (${cols[0]} >= ${cols[1]}u) { return; }
  let nc = gid.z;
  let c = nc % ${C}u;
  ${body}
}`;
}

/** Workgroup sizes a device allows (powers of two from 32 to 256). */
export function workgroupSizes(device: DeviceInfo): number[] {
  const most = device.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  return [32, 64, 128, 256].filter((w) => w <= Math.min(most, device.limits.maxComputeWorkgroupSizeX ?? 256));
}
