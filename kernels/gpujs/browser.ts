/**
 * The gpu.js backend in headless Chromium (WebGL2): gpu-browser.min.js and the same runner module
 * as in Node (served from dist/ with its imports; tinybench through an import map), so the same
 * kernel definitions and the same timing code run in both hosts. gpu.js is created in `webgl2`
 * mode and every kernel's class is asserted to be WebGL2Kernel.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packWeights } from '../../core/structure.js';
import { createInPage, distModuleRoutes, openKernelPage, PAGE_BASE64, PageKernel } from '../../browser/page-kernel.js';
import type { Backend, DeviceInfo } from '../../harness/types.js';
import { type GpuJsHostSession, gpujsPlan } from './plan.js';
import { gpujsVariants } from './variants.js';

const require = createRequire(import.meta.url);

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>neotune gpu.js</title>
<script src="/gpu-browser.min.js"></script>
<script type="importmap">{ "imports": { "tinybench": "/vendor/tinybench.js" } }</script>
<script type="module">
import { GpuJsKernel } from '/kernels/gpujs/runner.js';
${PAGE_BASE64}
const kernels = new Map();
let gpu, nextId = 1;
window.ntInit = () => {
  // An explicit mode: gpu.js throws instead of falling back to a CPU kernel without WebGL2.
  gpu = new GPU.GPU({ mode: 'webgl2' });
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) throw new Error('no WebGL2 context');
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return { kernel: gpu.Kernel && gpu.Kernel.name, renderer: info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    vendor: info ? gl.getParameter(info.UNMASKED_VENDOR_WEBGL) : gl.getParameter(gl.VENDOR), version: gl.getParameter(gl.VERSION),
    maxTextureSize: gl.getParameter(gl.MAX_TEXTURE_SIZE), floatTextures: gl.getExtension('EXT_color_buffer_float') !== null };
};
window.ntCreate = (spec) => { const id = nextId++; kernels.set(id, new GpuJsKernel(gpu, spec, 'WebGL2Kernel')); return id; };
window.ntPrepare = (id, x, inputs) => kernels.get(id).prepare(b64(x), inputs.map(b64));
window.ntPoison = (id) => kernels.get(id).poisonOutput();
window.ntRun = (id) => kernels.get(id).run();
window.ntRead = (id) => toB64(kernels.get(id).readOutput());
window.ntMeasure = (id, opts) => kernels.get(id).measure(opts);
window.ntDispose = (id) => { kernels.get(id)?.dispose(); kernels.delete(id); };
window.ntReady = true;
</script>`;

export async function openBrowserGpuJsSession(): Promise<GpuJsHostSession> {
  const routes = {
    '/index.html': ['text/html; charset=utf-8', PAGE] as [string, string],
    '/gpu-browser.min.js': ['text/javascript', readFileSync(require.resolve('gpu.js/dist/gpu-browser.min.js'), 'utf8')] as [string, string],
    '/vendor/tinybench.js': ['text/javascript', readFileSync(require.resolve('tinybench'), 'utf8')] as [string, string],
    ...distModuleRoutes(['kernels/gpujs/runner.js']),
  };
  type Facts = { kernel: string; renderer: string; vendor: string; version: string; maxTextureSize: number; floatTextures: boolean };
  return openKernelPage(routes, 'gpu.js', (b, page, facts: Facts): GpuJsHostSession => {
    if (facts.kernel !== 'WebGL2Kernel') throw new Error(`gpu.js-browser backend unavailable: gpu.js chose ${facts.kernel}, not WebGL2Kernel`);
    const device: DeviceInfo = {
      backend: 'gpujs-browser',
      description: `${b.version}: gpu.js WebGL2 ${facts.renderer}`,
      details: { browser: b.version, ...facts },
      limits: { maxTextureSize: facts.maxTextureSize },
      features: facts.floatTextures ? ['texture-float'] : [],
    };
    return {
      backend: 'gpujs-browser',
      device,
      async compile(description) {
        const plan = gpujsPlan(description);
        const id = await createInPage(page, plan.spec);
        return new PageKernel(page, id, plan.source, plan.executed, (data) => packWeights(plan.weights, data), 'Chromium');
      },
      close: () => b.close(),
    };
  });
}

export const gpujsBrowserBackend: Backend = {
  name: 'gpujs-browser',
  open: openBrowserGpuJsSession,
  variants: gpujsVariants('gpujs-browser'),
};
