/**
 * The CPU backend's compiler: a JavaScript or WebAssembly kernel description (what a CPU variant's
 * generate() returns) made runnable, on the session's worker pool when it runs on threads. Every
 * CPU session compiles through here (the backend's, the runtime's, the tuning page's).
 */
import type { KernelDescription, KernelInstance } from '../../harness/types.js';
import { JsKernel, type JsKernelSpec } from './instance.js';
import { WasmKernel, type WasmKernelSpec } from './wasm/runtime.js';
import type { ThreadPool } from './wasm/threads.js';

export async function compileCpuKernel(description: KernelDescription, pool: (threads: number) => ThreadPool | undefined): Promise<KernelInstance> {
  if (description.kind === 'js') return JsKernel.compile(description as JsKernelSpec);
  if (description.kind === 'wasm') {
    const spec = description as WasmKernelSpec;
    const threads = spec.threads;
    const workers = threads > 1 ? pool(threads) : undefined;
    if (threads > 1 && !workers) throw new Error(`threads=${threads}: this CPU session has no worker pool`);
    return WasmKernel.create(spec, workers);
  }
  throw new Error(`the CPU backend compiles js and wasm kernels, not ${description.kind} (${description.name})`);
}
