/**
 * The runtime's CPU targets without Node built-ins: the JavaScript and WebAssembly NeoCell variants
 * neotune tunes (kernels/cpu/variants.ts), on a device described by the thread count the application allows. More than one
 * thread uses the worker-thread pool (runtime/cpu-threads.ts: Node; a bundle has none).
 */
import type { BackendSession, DeviceInfo, KernelVariant } from '../harness/types.js';
import { compileCpuKernel } from '../kernels/cpu/compile.js';
import type { CpuKind } from '../kernels/cpu/variants.js';
import type { CpuSession } from '../kernels/cpu/wasm/variant.js';
import { workerPool } from './cpu-threads.js';

/** `details` describe the device further (a page adds its browser: the tuning database keys devices by them). */
export async function openCpuTarget(kind: CpuKind, threads: number, details: Readonly<Record<string, string>> = {}): Promise<{ variants: readonly KernelVariant[]; session: BackendSession }> {
  const variants = (await import('../kernels/cpu/variants.js')).CPU_NEOCELL[kind];
  const device: DeviceInfo = { backend: 'cpu', description: `CPU (${threads} thread${threads > 1 ? 's' : ''})`, details: { ...details, threads }, limits: { threads }, features: [] };
  const pool = threads > 1 ? await workerPool(threads - 1) : undefined;
  const session: CpuSession = {
    backend: 'cpu',
    device,
    pool: (n) => (n <= 1 ? undefined : pool),
    compile: (description) => compileCpuKernel(description, session.pool),
    async close() {
      await pool?.close();
    },
  };
  return { variants, session };
}
