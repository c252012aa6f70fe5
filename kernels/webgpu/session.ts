/** The WebGPU (Dawn, Node) backend session: adapter, device (timestamp queries when offered), limits. */
import type { BackendSession, DeviceInfo, KernelInstance } from '../../harness/types.js';
import { describeAdapter, requestNodeAdapter } from './adapter.js';
import { type GpuContext, GpuKernel, type GpuKernelSpec } from './instance.js';

/** A session of either WebGPU host (Node/Dawn or Chromium): the variants only hand it a kernel spec. */
export interface GpuHostSession extends BackendSession {
  createKernel(spec: GpuKernelSpec): Promise<KernelInstance>;
}

export interface WebGpuSession extends GpuHostSession {
  readonly gpu: GpuContext;
}

export function workgroupSizes(device: DeviceInfo): number[] {
  const most = device.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  return [32, 64, 128, 256].filter((w) => w <= Math.min(most, device.limits.maxComputeWorkgroupSizeX ?? 256));
}

export async function openWebGpuSession(): Promise<WebGpuSession> {
  // Keep the GPU instance and adapter referenced for the session's lifetime: if the instance is
  // garbage-collected while its device lives, dawn.node aborts the process.
  const { gpu: instance, adapter, facts } = await requestNodeAdapter();
  const timestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({
    requiredFeatures: (['timestamp-query', 'shader-f16'] as const).filter((f) => adapter.features.has(f)),
    // The device gets the adapter's limits, not the defaults: the parameter spaces are built from
    // the adapter's (facts.limits), and a kernel within them must not fail on a default limit.
    requiredLimits: facts.limits,
  });
  const gpu: GpuContext = { device, timestamps };
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') gpu.lost = `${info.reason}: ${info.message}`;
  });
  const info: DeviceInfo = {
    backend: 'webgpu',
    description: describeAdapter(facts),
    details: { vendor: facts.vendor, architecture: facts.architecture, device: facts.device, driver: facts.driver, timestamps },
    limits: facts.limits,
    features: facts.features,
  };
  const keepAlive = { instance, adapter };
  return {
    backend: 'webgpu',
    device: info,
    gpu,
    createKernel: (spec) => GpuKernel.create(gpu, spec),
    async close() {
      device.destroy();
      void keepAlive;
    },
  };
}
