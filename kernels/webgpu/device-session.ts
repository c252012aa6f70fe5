/**
 * A WebGPU session on a device the application already has (the runtime's `webgpu` target): the
 * WGSL variants run on it as on neotune's own sessions. The device stays the application's:
 * closing the session never destroys it.
 */
import type { DeviceInfo } from '../../harness/types.js';
import { packWeights } from '../../core/structure.js';
import { GpuKernel, LIMIT_NAMES } from './instance.js';
import type { GpuHostSession } from './session.js';

export function gpuSessionOn(device: GPUDevice): GpuHostSession {
  const limits: Record<string, number> = {};
  for (const n of LIMIT_NAMES) limits[n] = Number((device.limits as unknown as Record<string, number>)[n]);
  const features = [...device.features].map(String).sort();
  const info: DeviceInfo = { backend: 'webgpu', description: 'application GPUDevice', details: { timestamps: features.includes('timestamp-query') }, limits, features };
  const gpu = { device, timestamps: features.includes('timestamp-query') as boolean, lost: undefined as string | undefined };
  void device.lost.then((l) => {
    if (l.reason !== 'destroyed') gpu.lost = `${l.reason}: ${l.message}`;
  });
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
