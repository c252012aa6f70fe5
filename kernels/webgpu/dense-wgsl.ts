/**
 * dense block-diagonal (WGSL): what the official PyTorch code does. A and B are materialised per
 * channel with all their zeros (the CPU dense variant's materialisation) and applied as two plain
 * matrix products, T = A·X then Y = T·B: H (resp. W) multiply-adds per output instead of k.
 */
import { cellOutputShape } from '../../core/spec.js';
import type { DeviceInfo, KernelVariant, NeoCellProblem, Params } from '../../harness/types.js';
import { bindings, checkImageChunks, chunkOf, entryPoint, imagePlanes, times, workgroupSizes } from './wgsl.js';
import type { GpuKernelSpec } from './instance.js';

export function denseWgsl(p: NeoCellProblem, wg: number) {
  const { N, C, H, W } = p;
  const { H_out, W_out } = cellOutputShape(p.cell, H, W);
  const wgsl = `// neotune dense-wgsl: ${N}x${C}x${H}x${W} -> ${H_out}x${W_out}
${bindings(['A', 'B'], 't')}

${entryPoint('passA', wg, C, ['col', W], 'r', `var acc = 0.0;
  for (var i = 0u; i < ${H}u; i++) { acc += A[(c * ${H_out}u + r) * ${H}u + i] * x[nc * ${H * W}u + i * ${W}u + col]; }
  t[nc * ${H_out * W}u + r * ${W}u + col] = acc;`)}

${entryPoint('passB', wg, C, ['j', W_out], 'r', `var acc = 0.0;
  for (var w = 0u; w < ${W}u; w++) { acc += t[nc * ${H_out * W}u + r * ${W}u + w] * B[(c * ${W}u + w) * ${W_out}u + j]; }
  y[nc * ${H_out * W_out}u + r * ${W_out}u + j] = acc;`)}
`;
  const passes = [
    { entry: 'passA', dispatch: [Math.ceil(W / wg), H_out, N * C] as [number, number, number] },
    { entry: 'passB', dispatch: [Math.ceil(W_out / wg), H_out, N * C] as [number, number, number] },
  ];
  const macs = N * C * (H_out * H * W + H_out * W * W_out);
  return { wgsl, passes, scratchElements: N * C * H_out * W, outputElements: N * C * H_out * W_out, macs, weightElements: Math.max(C * H_out * H, C * W * W_out) };
}

/** Elements per image of x, y and the intermediate T = A·X (H_out × W). */
const planes = (p: NeoCellProblem): number[] => imagePlanes(p, cellOutputShape(p.cell, p.H, p.W).H_out * p.W);

export const denseWgslFor = (backend: 'webgpu' | 'webgpu-browser'): KernelVariant<NeoCellProblem> => ({
  backend,
  name: 'dense-wgsl',
  op: 'neocell',
  role: 'neocell',
  params: (_p, device) => [{ name: 'wg', values: workgroupSizes(device), doc: 'workgroup size (invocations along a row)' }],
  defaults: (_p, device) => ({ wg: Math.min(64, Math.max(...workgroupSizes(device))) }),
  check(problem, params, device) {
    const p = problem;
    const z = checkImageChunks(p, device, planes(p), p.C);
    if (z) return z;
    const bytes = 4 * denseWgsl(p, Number(params.wg)).weightElements;
    const limit = device.limits.maxStorageBufferBindingSize ?? 134217728;
    return bytes > limit ? `materialised matrices need ${bytes} bytes, over maxStorageBufferBindingSize ${limit}` : undefined;
  },
  generate,
});

/** The dense kernel's description (pure). */
function generate(problem: NeoCellProblem, params: Params, device: DeviceInfo): GpuKernelSpec {
  const whole = problem;
  const { chunk: p, count } = chunkOf(whole, device, planes(whole), whole.C);
  const g = denseWgsl(p, Number(params.wg));
  return {
    kind: 'wgsl',
    name: `dense-wgsl-wg${params.wg}`,
    source: g.wgsl,
    passes: g.passes,
    chunks: count,
    scratchElements: g.scratchElements * count,
    outputElements: g.outputElements * count,
    weights: ['dense-a', 'dense-b'],
    executed: times({ multiplies: g.macs, adds: g.macs, macs: g.macs }, count),
  };
}
