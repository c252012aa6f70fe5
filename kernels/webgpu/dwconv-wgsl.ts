/** Depthwise K×K conv baseline (WGSL): one invocation per output, the K×K window unrolled by constants, zero padding by bounds checks. */
import type { DwConvProblem, KernelVariant } from '../../harness/types.js';
import { workgroupSizes } from './wgsl.js';
import { bindings, checkImageChunks, chunkOf } from './wgsl.js';
import type { DeviceInfo, Params } from '../../harness/types.js';
import type { GpuKernelSpec } from './instance.js';

export function dwconvWgsl(p: DwConvProblem, wg: number): string {
  const { C, H, W, K } = p;
  const pad = Math.floor((K - 1) / 2);
  return `// neotune dwconv-wgsl ${K}x${K}
${bindings(['w'])}

@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = i32(gid.x);
  let i = i32(gid.y);
  if (j >= ${W}) { return; }
  let nc = gid.z;
  let c = nc % ${C}u;
  let base = nc * ${H * W}u;
  var acc = 0.0;
  for (var u = 0; u < ${K}; u++) {
    let r = i + u - ${pad};
    if (r < 0 || r >= ${H}) { continue; }
    for (var v = 0; v < ${K}; v++) {
      let s = j + v - ${pad};
      if (s >= 0 && s < ${W}) { acc += w[c * ${K * K}u + u32(u * ${K} + v)] * x[base + u32(r * ${W} + s)]; }
    }
  }
  y[base + u32(i * ${W} + j)] = acc;
}
`;
}

export const dwconvWgslFor = (backend: 'webgpu' | 'webgpu-browser'): KernelVariant<DwConvProblem> => ({
  backend,
  name: 'dwconv-wgsl',
  op: 'dwconv',
  role: 'baseline',
  params: (_p, device) => [{ name: 'wg', values: workgroupSizes(device), doc: 'workgroup size (invocations along a row)' }],
  defaults: (_p, device) => ({ wg: Math.min(64, Math.max(...workgroupSizes(device))) }),
  check: (problem, _params, device) => checkImageChunks(problem, device, [problem.C * problem.H * problem.W], problem.C),
  generate,
});

/** The depthwise conv's description (pure). */
function generate(problem: DwConvProblem, params: Params, device: DeviceInfo): GpuKernelSpec {
  const whole = problem;
  const { chunk: p, count } = chunkOf(whole, device, [whole.C * whole.H * whole.W], whole.C);
  const wg = Number(params.wg);
  const macs = whole.N * whole.C * whole.H * whole.W * whole.K * whole.K;
  return {
    kind: 'wgsl',
    name: `dwconv-wgsl-${p.K}-wg${wg}`,
    source: dwconvWgsl(p, wg),
    dispatch: [Math.ceil(p.W / wg), p.H, p.N * p.C],
    chunks: count,
    outputElements: whole.N * whole.C * whole.H * whole.W,
    weights: ['dw'],
    executed: { multiplies: macs, adds: macs, macs },
  };
}
