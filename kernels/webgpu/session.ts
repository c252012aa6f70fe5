/** The WebGPU (Dawn, Node) backend session: adapter, device (timestamp queries when offered), limits. */
import type { BackendSession, DeviceInfo, KernelInstance } from '../../harness/types.js';
import { describeAdapter, requestNodeAdapter } from './adapter.js';
import { packWeights } from '../../core/structure.js';
import { type GpuContext, GpuKernel, type GpuKernelSpec, openGpuContext } from './instance.js';

/** A session of either WebGPU host (Node/Dawn or Chromium): the variants only hand it a kernel spec. */
export interface GpuHostSession extends BackendSession {
  createKernel(spec: GpuKernelSpec): Promise<KernelInstance>;
  /**
   * Fault injection (tests): the current device is marked lost with `reason`, as a real loss is
   * reported (one cannot be caused on purpose), and destroyed.
   */
  simulateDeviceLoss(reason: string): Promise<void>;
}

export interface WebGpuSession extends GpuHostSession {
  readonly gpu: GpuContext;
}


export async function openWebGpuSession(): Promise<WebGpuSession> {
  // Keep the GPU instance and adapter referenced for the session's lifetime: if the instance is
  // garbage-collected while its device lives, dawn.node aborts the process.
  const { gpu: instance, adapter, facts } = await requestNodeAdapter();
  let gpu = await openGpuContext(adapter, facts.limits);
  const info: DeviceInfo = {
    backend: 'webgpu',
    description: describeAdapter(facts),
    details: { vendor: facts.vendor, architecture: facts.architecture, device: facts.device, driver: facts.driver, timestamps: gpu.timestamps },
    limits: facts.limits,
    features: facts.features,
  };
  const keepAlive = { instance, adapter };
  // After a device loss, the kernels made on the lost device fail with its reason (the candidate
  // in flight is recorded as failed); the next kernel gets a new device from a new adapter (an
  // adapter gives one device), so a long run goes on.
  const replaceLostDevice = async () => {
    const reason = gpu.lost;
    const next = await instance.requestAdapter({ powerPreference: 'high-performance' });
    if (!next) throw new Error(`WebGPU device lost (${reason}) and Dawn found no adapter to replace it`);
    gpu = await openGpuContext(next, facts.limits);
    keepAlive.adapter = next;
    process.stderr.write(`webgpu: device lost (${reason}); continuing on a new device\n`);
  };
  return {
    backend: 'webgpu',
    device: info,
    get gpu() {
      return gpu;
    },
    async createKernel(spec) {
      if (gpu.lost) await replaceLostDevice();
      return GpuKernel.create(gpu, spec, (data) => packWeights(spec.weights, data));
    },
    async simulateDeviceLoss(reason) {
      gpu.lost = reason;
      gpu.device.destroy();
    },
    async close() {
      gpu.device.destroy();
      void keepAlive;
    },
  };
}
