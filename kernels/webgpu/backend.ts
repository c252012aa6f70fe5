/** The WebGPU backend in Node (Dawn): WGSL kernels, verified and timed through the shared harness. */
import type { Backend } from '../../harness/types.js';
import { probeWebGpuNode } from '../probes.js';
import { copyWgslFor } from './copy-wgsl.js';
import { dwconvWgslFor } from './dwconv-wgsl.js';
import { fusedWgslFor, winogradWgslFor } from './fused-wgsl.js';
import { sparseWgslFor } from './sparse-wgsl.js';
import { denseWgslFor } from './dense-wgsl.js';
import { openWebGpuSession } from './session.js';

export const webgpuBackend: Backend = {
  name: 'webgpu',
  title: 'WebGPU in Node (Dawn)',
  probe: probeWebGpuNode,
  open: openWebGpuSession,
  variants: [fusedWgslFor('webgpu'), sparseWgslFor('webgpu'), denseWgslFor('webgpu'), winogradWgslFor('webgpu'), dwconvWgslFor('webgpu'), copyWgslFor('webgpu')],
};
