/** The WebGPU backend in Node (Dawn): WGSL kernels, verified and timed through the shared harness. */
import type { Backend } from '../../harness/types.js';
import { wgslVariants } from './variants.js';
import { openWebGpuSession } from './session.js';

export const webgpuBackend: Backend = {
  name: 'webgpu',
  open: openWebGpuSession,
  variants: wgslVariants('webgpu'),
};
