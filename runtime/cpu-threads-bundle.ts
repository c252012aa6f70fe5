/** In a self-contained bundle (neotune export --format bundle) there are no worker threads: `threads` is 1. */
import { InputError } from '../core/errors.js';
import type { WorkerPool } from '../kernels/cpu/wasm/pool.js';

export async function workerPool(size: number): Promise<WorkerPool> {
  throw new InputError('target.threads', size + 1, '1 in a bundle (threads need the installed package: import from neotune/runtime in Node)');
}
