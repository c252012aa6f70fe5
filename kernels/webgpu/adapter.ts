/**
 * WebGPU in Node through Dawn (`webgpu` package). Without a GPU, Dawn uses Chromium's SwiftShader
 * Vulkan driver (../shared/PLATFORM.md): we select it only when no GPU device node exists, so a
 * real GPU is never hidden. A null adapter is an error, never a silent fallback.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readLimits } from './instance.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasGpuDeviceNode(): boolean {
  const nvidia = existsSync('/dev/nvidia0');
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return nvidia || dri;
}

/** Sets VK_ICD_FILENAMES to SwiftShader when the machine has no GPU and the user set no driver. */
export function selectVulkanDriver(): 'env' | 'swiftshader' | 'system' {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return 'env';
  if (!hasGpuDeviceNode() && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    return 'swiftshader';
  }
  return 'system';
}

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  limits: Record<string, number>;
  driver: string;
}

/** The adapter's facts; its limits are the ones neotune reads, requested at the adapter's values (defaults are lower: 256 invocations, 16 KiB workgroup memory). */
export function adapterFacts(adapter: GPUAdapter, driver: string): AdapterFacts {
  const info = adapter.info;
  const limits = readLimits(adapter.limits);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    features: [...adapter.features].map(String).sort(),
    limits,
    driver,
  };
}

/** Requests a Dawn adapter in this process; throws with the reason when there is none. */
export async function requestNodeAdapter(): Promise<{ gpu: GPU; adapter: GPUAdapter; facts: AdapterFacts }> {
  const driver = selectVulkanDriver();
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new Error(`package webgpu cannot be loaded (${(e as Error).message}); run npm ci`);
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      driver === 'system'
        ? `Dawn found no WebGPU adapter (no Vulkan driver for this GPU; without a GPU install chromium for ${SWIFTSHADER_ICD})`
        : `Dawn found no WebGPU adapter with VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES}`,
    );
  }
  return { gpu, adapter, facts: adapterFacts(adapter, driver) };
}

export function describeAdapter(f: AdapterFacts): string {
  return `${f.vendor || 'unknown vendor'} ${f.device || f.architecture || ''} ${f.description ? `(${f.description})` : ''}`.replace(/\s+/g, ' ').trim();
}
