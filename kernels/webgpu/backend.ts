/** The WebGPU backend in Node (Dawn): WGSL kernels, verified and timed through the shared harness. */
import type { Backend } from '../../harness/types.js';
import { probeWebGpuNode } from '../probes.js';
import { wgslVariants } from './variants.js';
import { openWebGpuSession } from './session.js';

export const webgpuBackend: Backend = {
  name: 'webgpu',
  title: 'WebGPU in Node (Dawn)',
  probe: probeWebGpuNode,
  open: openWebGpuSession,
  variants: wgslVariants('webgpu'),
};
