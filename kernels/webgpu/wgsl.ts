/**
 * What the WGSL variants share: the binding declarations in the order the kernel class lays them
 * out (x, y, the inputs, the scratch), the dispatch-size constraint, weights concatenated across
 * groups, and the variant list both hosts (Node and Chromium) serve.
 */
import type { CellSpec } from '../../core/spec.js';
import type { DeviceInfo, Problem } from '../../harness/types.js';

/**
 * `@binding(i)` declarations: x read-only, y read-write, then `inputs` (read-only), then the
 * scratch; `io` is the element type of x and y (vec4<f32> for vectorised access).
 */
export function bindings(inputs: readonly string[], scratch?: string, element = 'f32', io = element): string {
  const decl = (i: number, mode: string, name: string, t = element) => `@group(0) @binding(${i}) var<storage, ${mode}> ${name}: array<${t}>;`;
  return [decl(0, 'read', 'x', io), decl(1, 'read_write', 'y', io), ...inputs.map((n, i) => decl(2 + i, 'read', n)), ...(scratch ? [decl(2 + inputs.length, 'read_write', scratch)] : [])].join('\n');
}

/** One workgroup row per (batch, channel) image along z: refused beyond the device's dimension limit. */
export function checkImagesPerDispatch(problem: Problem, device: DeviceInfo): string | undefined {
  const most = device.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  return problem.N * problem.C > most ? `N·C = ${problem.N * problem.C} workgroups along z exceed maxComputeWorkgroupsPerDimension ${most} of this device` : undefined;
}

/**
 * Where each group's weights start in the concatenated per-group arrays (`concatenated()`): A and B
 * blocks, and ξ (one value per channel and output row, winogradXi).
 */
export function groupWeightOffsets(cell: CellSpec): { a: number; b: number; xi: number }[] {
  let a = 0;
  let b = 0;
  let xi = 0;
  return cell.groups.map((g) => {
    const r = { a, b, xi };
    a += g.channels * g.a.in * g.a.out;
    b += g.channels * g.b.in * g.b.out;
    xi += g.channels * g.a.out;
    return r;
  });
}

/** Per-group weight arrays concatenated into one buffer (groups in spec order). */
export function concatenated(arrs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrs.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
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
