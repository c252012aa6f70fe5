/**
 * WebGPU sessions on a device in hand: the application's (the runtime's `webgpu` target) and
 * neotune's own in-process hosts' (Node/Dawn, the tuning page's worker). Dependency-free apart
 * from the kernel class: the page bundles this module.
 */
import type { BackendSession, DeviceInfo, KernelDescription, KernelInstance } from '../../harness/types.js';
import { packWeights } from '../../core/structure.js';
import { type GpuContext, GpuKernel, readLimits, watchedContext, wgslSpec } from './instance.js';

/** A session of either WebGPU host (Node/Dawn or Chromium): the variants only hand it a kernel spec. */
export interface GpuHostSession extends BackendSession {
  /** Compiles a WGSL kernel description (a `wgsl` KernelDescription) on the session's current device. */
  compile(description: KernelDescription): Promise<KernelInstance>;
  /**
   * Fault injection (tests): the current device is marked lost with `reason`, as a real loss is
   * reported (one cannot be caused on purpose), and destroyed.
   */
  simulateDeviceLoss(reason: string): Promise<void>;
}

/**
 * A session on a device the application already has: the WGSL variants run on it as on neotune's
 * own sessions. The device stays the application's: closing the session never destroys it.
 */
export function gpuSessionOn(device: GPUDevice): GpuHostSession {
  const features = [...device.features].map(String).sort();
  const gpu = watchedContext(device, features.includes('timestamp-query'));
  const info: DeviceInfo = { backend: 'webgpu', description: 'application GPUDevice', details: { timestamps: gpu.timestamps }, limits: readLimits(device.limits), features };
  return {
    backend: 'webgpu',
    device: info,
    compile: async (description) => {
      const spec = wgslSpec(description);
      return GpuKernel.create(gpu, spec, (data) => packWeights(spec.weights, data));
    },
    async simulateDeviceLoss(reason) {
      gpu.lost = reason;
    },
    async close() {},
  };
}

/**
 * A session on neotune's own device: kernels are made on the current device; after a loss, the
 * kernels made on the lost device fail with its reason (the candidate in flight is recorded as
 * failed) and the next kernel gets a new device from `replace` (an adapter gives one device), so a
 * long run goes on. Closing destroys the current device.
 */
export function deviceSession(device: DeviceInfo, first: GpuContext, replace: (reason: string) => Promise<GpuContext>): GpuHostSession & { readonly gpu: GpuContext } {
  let gpu = first;
  return {
    backend: device.backend,
    device,
    get gpu() {
      return gpu;
    },
    async compile(description) {
      const spec = wgslSpec(description);
      if (gpu.lost) gpu = await replace(gpu.lost);
      return GpuKernel.create(gpu, spec, (data) => packWeights(spec.weights, data));
    },
    async simulateDeviceLoss(reason) {
      gpu.lost = reason;
      gpu.device.destroy();
    },
    async close() {
      gpu.device.destroy();
    },
  };
}
