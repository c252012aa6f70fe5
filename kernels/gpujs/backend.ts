/** The gpu.js backend in Node (headless-gl under an X server): gpu.js kernels through the shared harness. */
import type { Backend } from '../../harness/types.js';
import { openGpuJsSession } from './session.js';
import { gpujsVariants } from './variants.js';

export const gpujsBackend: Backend = {
  name: 'gpujs',
  open: openGpuJsSession,
  variants: gpujsVariants('gpujs'),
};
