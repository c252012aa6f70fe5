/** Worker threads for WebAssembly kernels (Node): the pool neotune itself tunes with. */
import type { WorkerPool } from '../kernels/cpu/wasm/pool.js';

export async function workerPool(size: number): Promise<WorkerPool> {
  const { WorkerPool } = await import('../kernels/cpu/wasm/pool.js');
  return new WorkerPool(size);
}
