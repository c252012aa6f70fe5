/**
 * The runtime's CPU targets without Node built-ins: the JavaScript and WebAssembly variants
 * neotune tunes, on a device described by the thread count the application allows. More than one
 * thread uses the worker-thread pool (runtime/cpu-threads.ts: Node; a bundle has none).
 */
import type { BackendSession, DeviceInfo, KernelVariant } from '../harness/types.js';
import type { CpuSession } from '../kernels/cpu/wasm/variant.js';
import { workerPool } from './cpu-threads.js';

/** `details` describe the device further (a page adds its browser: the tuning database keys devices by them). */
export async function openCpuTarget(kind: 'js' | 'wasm', threads: number, details: Readonly<Record<string, string>> = {}): Promise<{ variants: readonly KernelVariant[]; session: BackendSession }> {
  const variants =
    kind === 'js'
      ? await Promise.all([import('../kernels/cpu/sparse-js.js'), import('../kernels/cpu/fused-js.js'), import('../kernels/cpu/winograd-js.js'), import('../kernels/cpu/dense-js.js')]).then(([s, f, w, d]) => [s.sparseJs, f.fusedJs, w.winogradJs, d.denseJs])
      : await Promise.all([import('../kernels/cpu/fused-wasm.js'), import('../kernels/cpu/sparse-wasm.js'), import('../kernels/cpu/tiled-wasm.js'), import('../kernels/cpu/winograd-wasm.js'), import('../kernels/cpu/dense-wasm.js')]).then(([f, s, t, w, d]) => [f.fusedWasm, s.sparseWasm, t.tiledWasm, w.winogradWasm, d.denseWasm]);
  const device: DeviceInfo = { backend: 'cpu', description: `CPU (${threads} thread${threads > 1 ? 's' : ''})`, details: { ...details, threads }, limits: { threads }, features: [] };
  const pool = threads > 1 ? await workerPool(threads - 1) : undefined;
  const session: CpuSession = {
    backend: 'cpu',
    device,
    pool: (n) => (n <= 1 ? undefined : pool),
    async close() {
      await pool?.close();
    },
  };
  return { variants, session };
}
