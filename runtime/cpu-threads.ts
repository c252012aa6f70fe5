/**
 * Worker threads for WebAssembly kernels: in Node the worker_threads pool neotune itself tunes
 * with; elsewhere (a page, through a bundler) Web Workers (cpu-threads-web.ts).
 */
import type { ThreadPool } from '../kernels/cpu/wasm/threads.js';
import { workerPool as webWorkerPool } from './cpu-threads-web.js';

export async function workerPool(size: number): Promise<ThreadPool> {
  if (!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node) return webWorkerPool(size);
  const { WorkerPool } = await import('../kernels/cpu/wasm/pool.js');
  return new WorkerPool(size);
}
