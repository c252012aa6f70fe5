/**
 * A WebGPU session inside a page or a Web Worker (the neotune page's tuner): the browser's own
 * adapter, its limits requested in full, timestamp queries when offered (the clock step measured:
 * instance.ts). Devices are keyed like the CLI's Chromium backend ("webgpu-browser"): the browser,
 * then the adapter's vendor, device and description. A lost device fails the candidate in flight;
 * the next kernel gets a device from a new adapter.
 */
import type { DeviceInfo } from '../../harness/types.js';
import { withCounting } from './count.js';
import { deviceSession } from './device-session.js';
import { type GpuContext, openGpuContext, readLimits } from './instance.js';
import type { GpuHostSession } from './device-session.js';

async function openAdapter(): Promise<GPUAdapter> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is undefined)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('this browser offers no WebGPU adapter (navigator.gpu.requestAdapter() returned null)');
  return adapter;
}

/** `browser` names the browser ("Chromium 131"): the tuning database keys devices by it. */
export async function openPageGpuSession(browser: string): Promise<GpuHostSession & { readonly gpu: GpuContext }> {
  const adapter = await openAdapter();
  const limits = readLimits(adapter.limits);
  const gpu = await openGpuContext(adapter, limits);
  const info = adapter.info;
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const device: DeviceInfo = {
    backend: 'webgpu-browser',
    description: `${browser}: ${[info.vendor, info.device || info.architecture, info.description].filter(Boolean).join(' ') || 'an adapter without a description'}`,
    details: { browser, vendor: info.vendor, architecture: info.architecture, device: info.device, timestamps: gpu.timestamps, ...(gpu.timestampStepMs !== undefined ? { timestamp_step_ms: gpu.timestampStepMs } : {}), ...(fallback ? { isFallbackAdapter: true } : {}) },
    limits,
    features: [...adapter.features].map(String).sort(),
  };
  return withCounting(deviceSession(device, gpu, async () => openGpuContext(await openAdapter(), limits)));
}
