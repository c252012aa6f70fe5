/** The WebGPU backend in Node (Dawn): WGSL kernels, verified and timed through the shared harness. */
import type { Backend } from '../../harness/types.js';
import { probeWebGpuNode } from '../probes.js';
import { copyWgslVariant } from './copy-wgsl.js';
import { dwconvWgslVariant } from './dwconv-wgsl.js';
import { fusedWgslVariant } from './fused-wgsl.js';
import { openWebGpuSession } from './session.js';

export const webgpuBackend: Backend = {
  name: 'webgpu',
  title: 'WebGPU in Node (Dawn)',
  probe: probeWebGpuNode,
  open: openWebGpuSession,
  variants: [fusedWgslVariant, dwconvWgslVariant, copyWgslVariant],
};
