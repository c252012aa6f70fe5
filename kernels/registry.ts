/**
 * The backend registry: one entry per backend, each with its availability probe and, where its
 * kernels exist, a loader (dynamic, so a missing optional package never breaks the others).
 */
import { InputError } from '../core/errors.js';
import type { Availability, Backend, BackendName, BackendSession } from '../harness/types.js';
import { probeGpuJsBrowser, probeGpuJsNode, probeWebGpuBrowser, probeWebGpuNode } from './probes.js';

/** A backend as the registry lists it: name, title, probe (is it usable here, and why not), open. */
export interface BackendEntry {
  readonly name: BackendName;
  readonly title: string;
  probe(): Promise<Availability>;
  /** Undefined while the backend's kernels are not implemented: shown as such, never faked. */
  readonly load?: () => Promise<Backend>;
  /**
   * Why `--backend auto` leaves this backend out of tuning runs (`neotune run`, `neotune tune`);
   * it is still in `auto` for bench and joins any run when named with --backend.
   */
  readonly notAutoTuned?: string;
}

const GPUJS_NOT_AUTO_TUNED =
  'gpu.js kernels on this machine kind run on software WebGL (Mesa under Xvfb, SwiftShader) at 0.1–0.5 s per call, so tuning its space for every layer takes hours, and the times are not GPU performance; name it with --backend to tune it';

/** Every backend neotune knows, available or not on this machine (probe() says). */
export const BACKENDS: readonly BackendEntry[] = [
  {
    name: 'cpu',
    title: 'CPU (JavaScript)',
    probe: async () => ({ available: true, description: (await import('./cpu/backend.js')).cpuDevice().description }),
    load: async () => (await import('./cpu/backend.js')).cpuBackend,
  },
  { name: 'webgpu', title: 'WebGPU in Node (Dawn)', probe: probeWebGpuNode, load: async () => (await import('./webgpu/backend.js')).webgpuBackend },
  { name: 'webgpu-browser', title: 'WebGPU in headless Chromium', probe: probeWebGpuBrowser, load: async () => (await import('./webgpu/browser.js')).webgpuBrowserBackend },
  { name: 'gpujs', title: 'gpu.js in Node (headless-gl)', probe: probeGpuJsNode, load: async () => (await import('./gpujs/backend.js')).gpujsBackend, notAutoTuned: GPUJS_NOT_AUTO_TUNED },
  { name: 'gpujs-browser', title: 'gpu.js in headless Chromium (WebGL2)', probe: probeGpuJsBrowser, load: async () => (await import('./gpujs/browser.js')).gpujsBrowserBackend, notAutoTuned: GPUJS_NOT_AUTO_TUNED },
];

/** The names accepted by backendEntry and --backend. */
export const BACKEND_NAMES = BACKENDS.map((b) => b.name);

/** The backend named `name`; an unknown name throws an InputError listing BACKEND_NAMES. */
export function backendEntry(name: string): BackendEntry {
  const e = BACKENDS.find((b) => b.name === name);
  if (!e) throw new InputError('backend', name, BACKENDS.map((b) => b.name).join(', '));
  return e;
}

/** An opened backend, ready to run kernels: its registry entry and its session (close the session when done). */
export interface BackendRun {
  readonly entry: BackendEntry;
  readonly backend: Backend;
  readonly session: BackendSession;
}

/** Opens a backend (probe first: an unavailable backend throws with the reason). */
export async function openBackend(entry: BackendEntry): Promise<BackendRun> {
  if (!entry.load) throw new Error(`backend ${entry.name}: kernels are not implemented yet`);
  const avail = await entry.probe();
  if (!avail.available) throw new Error(`backend ${entry.name} is unavailable: ${avail.reason}`);
  const backend = await entry.load();
  return { entry, backend, session: await backend.open() };
}
