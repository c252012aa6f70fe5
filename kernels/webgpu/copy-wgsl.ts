/** Copy (WGSL, one vec4 per invocation where the size allows): the bandwidth ceiling of the device, for ratios. */
import { elementBytes } from '../../harness/problem.js';
import type { KernelVariant, CopyProblem } from '../../harness/types.js';
import { workgroupSizes } from './wgsl.js';
import { bindings, checkImageChunks, chunkOf } from './wgsl.js';
import type { DeviceInfo, Params } from '../../harness/types.js';
import type { GpuKernelSpec } from './instance.js';

export const copyWgslFor = (backend: 'webgpu' | 'webgpu-browser'): KernelVariant<CopyProblem> => ({
  backend,
  name: 'copy-wgsl',
  op: 'copy',
  role: 'ceiling',
  params: (_p, device) => [{ name: 'wg', values: workgroupSizes(device), doc: 'workgroup size' }],
  defaults: (_p, device) => ({ wg: Math.min(256, Math.max(...workgroupSizes(device))) }),
  // float16: the same bytes moved as 32-bit words (two halves each); no shader-f16 needed.
  dtypes: ['float32', 'float16'],
  check: (problem, _params, device) =>
    problem.dtype === 'float16' && (problem.C * problem.H * problem.W) % 2 !== 0
      ? `float16 copy moves pairs of halves: C·H·W = ${problem.C * problem.H * problem.W} must be even`
      : checkImageChunks(problem, device, [problem.C * problem.H * problem.W], 0, elementBytes(problem.dtype)),
  generate,
});

/** The copy kernel's description: WGSL, dispatch, buffers (pure: no device is touched). */
function generate(problem: CopyProblem, params: Params, device: DeviceInfo): GpuKernelSpec {
  const half = problem.dtype === 'float16';
  const { chunk, count } = chunkOf(problem, device, [problem.C * problem.H * problem.W], 0, elementBytes(problem.dtype));
  const n = chunk.N * chunk.C * chunk.H * chunk.W;
  const words = half ? n / 2 : n;
  const wg = Number(params.wg);
  // vec4 loads/stores when the element count allows (full bandwidth needs vectorised access).
  const vec = words % 4 === 0;
  const items = vec ? words / 4 : words;
  const scalar = half ? 'u32' : 'f32';
  const t = vec ? `vec4<${scalar}>` : scalar;
  const perRow = 65535 * wg;
  const wgsl = `// neotune copy-wgsl ${vec ? 'vec4' : 'scalar'} ${problem.dtype}
${bindings([], undefined, t)}
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${perRow}u;
  if (i < ${items}u) { y[i] = x[i]; }
}
`;
    const groups = Math.ceil(items / wg);
    return {
      kind: 'wgsl',
      name: `copy-wgsl-wg${wg}`,
      source: wgsl,
      dispatch: [Math.min(groups, 65535), Math.ceil(groups / 65535), 1],
      chunks: count,
      io: half ? 'f16' : 'f32',
      outputElements: n * count,
      weights: [],
      executed: { multiplies: 0, adds: 0, macs: 0 },
    };
}
