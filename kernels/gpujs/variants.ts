/** The gpu.js variants, identical for both hosts (Node/headless-gl and Chromium/WebGL2); only `backend` differs. */
import type { KernelVariant } from '../../harness/types.js';
import { denseGpujsFor } from './dense-gpujs.js';
import { copyGpujsFor, dwconvGpujsFor } from './dwconv-gpujs.js';
import { fusedGpujsFor } from './fused-gpujs.js';
import { sparseGpujsFor } from './sparse-gpujs.js';
import { winogradGpujsFor } from './winograd-gpujs.js';

export function gpujsVariants(backend: 'gpujs' | 'gpujs-browser'): KernelVariant[] {
  return [fusedGpujsFor(backend), sparseGpujsFor(backend), denseGpujsFor(backend), winogradGpujsFor(backend), dwconvGpujsFor(backend), copyGpujsFor(backend)];
}
