/** The WebGPU (Dawn, Node) backend session: adapter, device (timestamp queries when offered), limits. */
import type { BackendSession, DeviceInfo, KernelInstance } from '../../harness/types.js';
import { describeAdapter, requestNodeAdapter } from './adapter.js';
import { deviceSession } from './device-session.js';
import { type GpuContext, type GpuKernelSpec, openGpuContext } from './instance.js';

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
  // Keep the GPU instance and adapter referenced for the session's lifetime (the replacement
  // closure holds them): if the instance is garbage-collected while its device lives, dawn.node
  // aborts the process.
  const { gpu: instance, adapter, facts } = await requestNodeAdapter();
  const gpu = await openGpuContext(adapter, facts.limits);
  const info: DeviceInfo = {
    backend: 'webgpu',
    description: describeAdapter(facts),
    details: { vendor: facts.vendor, architecture: facts.architecture, device: facts.device, driver: facts.driver, timestamps: gpu.timestamps },
    limits: facts.limits,
    features: facts.features,
  };
  const keepAlive = { instance, adapter };
  return deviceSession(info, gpu, async (reason) => {
    const next = await keepAlive.instance.requestAdapter({ powerPreference: 'high-performance' });
    if (!next) throw new Error(`WebGPU device lost (${reason}) and Dawn found no adapter to replace it`);
    keepAlive.adapter = next;
    process.stderr.write(`webgpu: device lost (${reason}); continuing on a new device\n`);
    return openGpuContext(next, facts.limits);
  });
}
