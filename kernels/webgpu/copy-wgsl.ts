/** Copy (WGSL, one vec4 per invocation where the size allows): the bandwidth ceiling of the device, for ratios. */
import type { KernelVariant } from '../../harness/types.js';
import { type GpuHostSession, workgroupSizes } from './session.js';
import { bindings, checkImageChunks, chunkOf } from './wgsl.js';

export const copyWgslFor = (backend: 'webgpu' | 'webgpu-browser'): KernelVariant => ({
  backend,
  name: 'copy-wgsl',
  op: 'copy',
  role: 'ceiling',
  params: (_p, device) => [{ name: 'wg', values: workgroupSizes(device), doc: 'workgroup size' }],
  defaults: (_p, device) => ({ wg: Math.min(256, Math.max(...workgroupSizes(device))) }),
  check: (problem, _params, device) => checkImageChunks(problem, device, [problem.C * problem.H * problem.W], 0),
  async create(problem, params, session) {
    const { chunk, count } = chunkOf(problem, session.device, [problem.C * problem.H * problem.W], 0);
    const n = chunk.N * chunk.C * chunk.H * chunk.W;
    const wg = Number(params.wg);
    // vec4 loads/stores when the element count allows (full bandwidth needs vectorised access).
    const vec = n % 4 === 0;
    const items = vec ? n / 4 : n;
    const t = vec ? 'vec4<f32>' : 'f32';
    const perRow = 65535 * wg;
    const wgsl = `// neotune copy-wgsl ${vec ? 'vec4' : 'scalar'}
${bindings([], undefined, t)}
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${perRow}u;
  if (i < ${items}u) { y[i] = x[i]; }
}
`;
    const groups = Math.ceil(items / wg);
    return (session as GpuHostSession).createKernel({
      name: `copy-wgsl-wg${wg}`,
      wgsl,
      dispatch: [Math.min(groups, 65535), Math.ceil(groups / 65535), 1],
      chunks: count,
      inputCount: 0,
      outputElements: n * count,
      inputs: () => [],
      executed: { multiplies: 0, adds: 0, macs: 0 },
    });
  },
});
