/** A CPU session without a worker pool: single-threaded kernels compile as on the backend's own session. */
import type { BackendSession } from '../../harness/types.js';
import { cpuDevice } from '../../kernels/cpu/backend.js';
import { compileCpuKernel } from '../../kernels/cpu/compile.js';

export function singleThreadCpuSession(): BackendSession {
  return { backend: 'cpu', device: cpuDevice(), compile: (d) => compileCpuKernel(d, () => undefined), close: async () => {} };
}
