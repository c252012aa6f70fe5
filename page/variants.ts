/**
 * The kernels the tuning page tunes on each of its backends, taken from the backends' own lists
 * (kernels/cpu/variants.ts, kernels/webgpu/variants.ts): every NeoCell variant and neotune's
 * depthwise 7×7 conv it is compared with. The page has no peers and no copy ceiling.
 */
import type { KernelVariant } from '../harness/types.js';
import { CPU_DWCONV, CPU_NEOCELL } from '../kernels/cpu/variants.js';
import { wgslVariants } from '../kernels/webgpu/variants.js';
import type { PageBackend } from './protocol.js';

export function pageVariants(backend: PageBackend): readonly KernelVariant[] {
  if (backend === 'wasm') return [...CPU_NEOCELL.wasm, CPU_DWCONV.wasm];
  return wgslVariants('webgpu-browser').filter((v) => v.role === 'neocell' || (v.role === 'baseline' && v.op === 'dwconv'));
}
