/** The WebGPU (Dawn, Node) backend session: adapter, device (timestamp queries when offered), limits. */
import type { DeviceInfo } from '../../harness/types.js';
import { describeAdapter, requestNodeAdapter } from './adapter.js';
import { withCounting } from './count.js';
import { deviceSession, type GpuHostSession } from './device-session.js';
import { type GpuContext, openGpuContext } from './instance.js';

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
  return withCounting(deviceSession(info, gpu, async (reason) => {
    const next = await keepAlive.instance.requestAdapter({ powerPreference: 'high-performance' });
    if (!next) throw new Error(`WebGPU device lost (${reason}) and Dawn found no adapter to replace it`);
    keepAlive.adapter = next;
    process.stderr.write(`webgpu: device lost (${reason}); continuing on a new device\n`);
    return openGpuContext(next, facts.limits);
  }));
}
