/**
 * The WebGPU backend in headless Chromium: the same WGSL and the same kernel class (instance.ts
 * and its dependency-free imports are served to the page as compiled) driven through
 * puppeteer-core from a page on 127.0.0.1. Buffers cross as base64; only prepare/readOutput move
 * data, timing runs inside the page (timestamp queries when the adapter has them).
 */
import { packWeights } from '../../core/structure.js';
import { createInPage, distModuleRoutes, openKernelPage, PAGE_BASE64, PageKernel } from '../../browser/page-kernel.js';
import type { Backend, DeviceInfo } from '../../harness/types.js';
import { wgslVariants } from './variants.js';
import type { GpuHostSession } from './device-session.js';
import { wgslSpec } from './instance.js';
import { countWgsl } from './count.js';

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>neotune webgpu</title>
<script type="module">
import { GpuKernel, openGpuContext, readLimits } from '/kernels/webgpu/instance.js';
const kernels = new Map();
let ctx, nextId = 1;
${PAGE_BASE64}
// A context on a new adapter (after a device loss too: an adapter gives one device).
async function openDevice() {
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled in this browser)');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null');
  const limits = readLimits(adapter.limits);
  return { ctx: await openGpuContext(adapter, limits), adapter, limits };
}
window.ntInit = async () => {
  const opened = await openDevice();
  ctx = opened.ctx;
  const { adapter, limits } = opened;
  const info = adapter.info || {};
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, timestamps: ctx.timestamps, features: [...adapter.features].sort(),
    limits };
};
window.ntCreate = async (spec, counters) => {
  if (ctx.lost) {
    const reason = ctx.lost;
    ctx = (await openDevice()).ctx;
    console.warn('webgpu: device lost (' + reason + '); continuing on a new device');
  }
  const k = { inputs: [] };
  k.kernel = await GpuKernel.create(ctx, spec, () => k.inputs, counters ?? undefined);
  const id = nextId++; kernels.set(id, k); return id;
};
// Fault injection (tests): see GpuHostSession.simulateDeviceLoss.
window.ntSimulateDeviceLoss = (reason) => { ctx.lost = reason; ctx.device.destroy(); };
window.ntPrepare = async (id, x, inputs) => { const k = kernels.get(id); k.inputs = inputs.map(b64); await k.kernel.prepare({ x: b64(x) }); };
window.ntPoison = async (id) => kernels.get(id).kernel.poisonOutput();
window.ntRun = async (id) => kernels.get(id).kernel.run();
window.ntRead = async (id) => toB64(await kernels.get(id).kernel.readOutput());
window.ntCounters = async (id) => Array.from(await kernels.get(id).kernel.readCounters());
window.ntMeasure = async (id, opts) => kernels.get(id).kernel.measure(opts);
window.ntDispose = (id) => { kernels.get(id)?.kernel.dispose(); kernels.delete(id); };
window.ntReady = true;
</script>`;

export async function openBrowserGpuSession(): Promise<GpuHostSession> {
  type Facts = { vendor: string; architecture: string; device: string; description: string; timestamps: boolean; features: string[]; limits: Record<string, number> };
  return openKernelPage({ '/index.html': ['text/html; charset=utf-8', PAGE], ...distModuleRoutes(['kernels/webgpu/instance.js']) }, 'WebGPU', (b, page, facts: Facts): GpuHostSession => {
    const device: DeviceInfo = {
      backend: 'webgpu-browser',
      description: `${b.version}: ${[facts.vendor, facts.device || facts.architecture, facts.description].filter(Boolean).join(' ')}`,
      details: { browser: b.version, vendor: facts.vendor, architecture: facts.architecture, device: facts.device, timestamps: facts.timestamps },
      limits: facts.limits,
      features: facts.features,
    };
    return {
      backend: 'webgpu-browser',
      device,
      async compile(description) {
        const spec = wgslSpec(description);
        // The description is data: it crosses into the page as is; Node packs the weights.
        const id = await createInPage(page, spec);
        return new PageKernel(page, id, spec.source, spec.executed, (data) => packWeights(spec.weights, data), 'Chromium');
      },
      // The exact lane: the counting build runs in the page like any kernel, its counters read back.
      countOperations: (description, data) =>
        countWgsl(wgslSpec(description), data, async (counting, counters) => new PageKernel(page, await createInPage(page, counting, counters), counting.source, undefined, (d) => packWeights(counting.weights, d), 'Chromium')),
      simulateDeviceLoss: async (reason) => {
        await page.evaluate((r) => (window as unknown as { ntSimulateDeviceLoss: (r: string) => void }).ntSimulateDeviceLoss(r), reason);
      },
      close: () => b.close(),
    };
  });
}

export const webgpuBrowserBackend: Backend = {
  name: 'webgpu-browser',
  open: openBrowserGpuSession,
  variants: wgslVariants('webgpu-browser'),
};
