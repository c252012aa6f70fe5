/**
 * A WebGPU session on a device the application already has (the runtime's `webgpu` target): the
 * WGSL variants run on it as on neotune's own sessions. The device stays the application's:
 * closing the session never destroys it.
 */
import type { DeviceInfo } from '../../harness/types.js';
import { packWeights } from '../../core/structure.js';
import { GpuKernel, readLimits, watchedContext } from './instance.js';
import type { GpuHostSession } from './session.js';

export function gpuSessionOn(device: GPUDevice): GpuHostSession {
  const features = [...device.features].map(String).sort();
  const gpu = watchedContext(device, features.includes('timestamp-query'));
  const info: DeviceInfo = { backend: 'webgpu', description: 'application GPUDevice', details: { timestamps: gpu.timestamps }, limits: readLimits(device.limits), features };
  return {
    backend: 'webgpu',
    device: info,
    createKernel: (spec) => GpuKernel.create(gpu, spec, (data) => packWeights(spec.weights, data)),
    async simulateDeviceLoss(reason) {
      gpu.lost = reason;
    },
    async close() {},
  };
}
