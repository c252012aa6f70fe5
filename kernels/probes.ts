/**
 * Availability probes for every backend platform, used by `neotune devices` and before any run.
 * Each says why a platform is missing (package, driver, adapter, X server), never just "no".
 */
import { createRequire } from 'node:module';
import { chromiumMissingReason, launchBrowser } from '../browser/chromium.js';
import type { Availability } from '../harness/types.js';
import { describeAdapter, requestNodeAdapter } from './webgpu/adapter.js';

const require = createRequire(import.meta.url);

export async function probeWebGpuNode(): Promise<Availability> {
  try {
    const { facts } = await requestNodeAdapter();
    return { available: true, description: describeAdapter(facts), details: { ...facts } };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

const ADAPTER_PAGE = `<!doctype html><title>neotune probe</title><script>
window.probe = async () => {
  if (!navigator.gpu) return { error: 'navigator.gpu is undefined (WebGPU disabled in this browser)' };
  const a = await navigator.gpu.requestAdapter();
  if (!a) return { error: 'navigator.gpu.requestAdapter() returned null' };
  const i = a.info || {};
  return { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, features: [...a.features].sort(),
    limits: { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxComputeInvocationsPerWorkgroup: a.limits.maxComputeInvocationsPerWorkgroup } };
};
window.probeWebGL = () => {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return { error: 'no WebGL2 context' };
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return { renderer: ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER), version: gl.getParameter(gl.VERSION) };
};
</script>`;

async function inBrowser<T>(fn: string): Promise<{ version: string; result: T & { error?: string } }> {
  const b = await launchBrowser({ '/index.html': ['text/html', ADAPTER_PAGE] });
  try {
    const page = await b.browser.newPage();
    await page.goto(`${b.origin}/index.html`);
    const result = (await page.evaluate(`window.${fn}()`)) as T & { error?: string };
    return { version: b.version, result };
  } finally {
    await b.close();
  }
}

export async function probeWebGpuBrowser(): Promise<Availability> {
  const missing = chromiumMissingReason();
  if (missing) return { available: false, reason: missing };
  try {
    const { version, result } = await inBrowser<Record<string, unknown>>('probe');
    if (result.error) return { available: false, reason: `${version}: ${result.error}` };
    return { available: true, description: `${version}: ${[result.vendor, result.device || result.architecture, result.description].filter(Boolean).join(' ')}`, details: { browser: version, ...result } };
  } catch (e) {
    return { available: false, reason: `chromium failed to start: ${(e as Error).message.split('\n')[0]}` };
  }
}

function loadable(pkg: string): string | undefined {
  try {
    require(pkg);
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** What a 1×1 headless-gl context reports, or why there is none (no native build, no X server). */
export function headlessGlFacts(): { renderer: string; version: string; vendor: string; maxTextureSize: number; floatTextures: boolean; display: string } | { error: string } {
  const gpujs = loadable('gpu.js');
  if (gpujs) return { error: `package gpu.js is not installed or fails to load: ${gpujs}` };
  const glErr = loadable('gl');
  if (glErr) return { error: `native package gl (headless-gl) is not built: ${glErr}` };
  const display = process.env.DISPLAY;
  if (!display) return { error: 'no X server: DISPLAY is unset (run under xvfb-run -a); gpu.js would silently fall back to CPU' };
  const createGl = require('gl') as (w: number, h: number) => WebGLRenderingContext | null;
  const gl = createGl(1, 1);
  if (!gl) return { error: `headless-gl could not create a context on DISPLAY ${display} (is the X server running? use xvfb-run -a)` };
  try {
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return {
      renderer: String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)),
      vendor: String(info ? gl.getParameter(info.UNMASKED_VENDOR_WEBGL) : gl.getParameter(gl.VENDOR)),
      version: String(gl.getParameter(gl.VERSION)),
      maxTextureSize: Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)),
      floatTextures: gl.getExtension('OES_texture_float') !== null,
      display,
    };
  } finally {
    (gl.getExtension('STACKGL_destroy_context') as { destroy(): void } | null)?.destroy();
  }
}

export async function probeGpuJsNode(): Promise<Availability> {
  const facts = headlessGlFacts();
  if ('error' in facts) return { available: false, reason: facts.error };
  return { available: true, description: `gpu.js headless-gl: ${facts.renderer} (${facts.version}) on DISPLAY ${facts.display}`, details: { ...facts } };
}

export async function probeGpuJsBrowser(): Promise<Availability> {
  const missing = chromiumMissingReason();
  if (missing) return { available: false, reason: missing };
  const gpujs = loadable('gpu.js');
  if (gpujs) return { available: false, reason: `package gpu.js is not installed: ${gpujs}` };
  try {
    const { version, result } = await inBrowser<{ renderer?: string; version?: string }>('probeWebGL');
    if (result.error) return { available: false, reason: `${version}: ${result.error}` };
    return { available: true, description: `${version}: WebGL2 ${result.renderer}`, details: { browser: version, ...result } };
  } catch (e) {
    return { available: false, reason: `chromium failed to start: ${(e as Error).message.split('\n')[0]}` };
  }
}
