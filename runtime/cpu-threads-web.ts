/**
 * Worker threads for WebAssembly kernels where the runtime runs on the web platform: Web Workers on
 * one shared memory (kernels/cpu/wasm/web-pool.ts). The self-contained bundle (neotune export
 * --format bundle) uses this file for runtime/cpu-threads.ts: it carries no Node built-in.
 */
import { InputError } from '../core/errors.js';
import type { ThreadPool } from '../kernels/cpu/wasm/threads.js';

export async function workerPool(size: number): Promise<ThreadPool> {
  const web = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean };
  if (typeof web.Worker !== 'function') {
    throw new InputError('target.threads', size + 1, '1 here: this JavaScript engine has no Web Workers (in Node, import createNeoCell from neotune/runtime for worker threads)');
  }
  if (web.crossOriginIsolated !== true) {
    // A shared WebAssembly.Memory can be posted to a worker only from a cross-origin isolated page.
    throw new InputError('target.threads', size + 1, '1 on a page that is not cross-origin isolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)');
  }
  const { WebWorkerPool } = await import('../kernels/cpu/wasm/web-pool.js');
  return new WebWorkerPool(size);
}
