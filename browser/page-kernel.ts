/**
 * The page-kernel proxy: a kernel compiled and run inside a Chromium page (WebGPU or gpu.js in the
 * browser), driven from Node through the neotune page protocol. Data crosses the page boundary as
 * base64; timing runs inside the page. The page is served by the Chromium host (chromium.ts).
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import type { DeviceTiming, ExecutedCounts, KernelInstance, MeasureOptions, ProblemData } from '../harness/types.js';
import { type BrowserHandle, launchBrowser } from './chromium.js';

/** Float32 data crosses the page boundary as base64 (page side: PAGE_BASE64 defines b64 and toB64). */
export const float32ToBase64 = (f: Float32Array): string => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
export const base64ToFloat32 = (s: string): Float32Array => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
export const PAGE_BASE64 = `const b64 = (s) => { const bin = atob(s); const u = new Uint8Array(bin.length); for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i); return new Float32Array(u.buffer); };
const toB64 = (f) => { const u = new Uint8Array(f.buffer, f.byteOffset, f.byteLength); let s = ''; for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000)); return btoa(s); };`;

/**
 * Routes serving compiled modules from dist/ at their own paths, following their relative imports,
 * so a module runs in the page exactly as in Node (bare imports go through the page's import map).
 */
export function distModuleRoutes(entries: readonly string[]): Record<string, [string, string]> {
  const distRoot = fileURLToPath(new URL('..', import.meta.url));
  const routes: Record<string, [string, string]> = {};
  const visit = (rel: string) => {
    const path = `/${rel}`;
    if (routes[path]) return;
    const text = readFileSync(join(distRoot, rel), 'utf8');
    routes[path] = ['text/javascript', text];
    for (const m of text.matchAll(/^import\s[^'"]*['"](\.{1,2}\/[^'"]+)['"]/gm)) visit(posix.normalize(posix.join(posix.dirname(rel), m[1]!)));
  };
  entries.forEach(visit);
  return routes;
}

type PageApi = Record<string, (...a: unknown[]) => unknown>;

/**
 * Launches Chromium on `routes`, opens /index.html (a page implementing the kernel page protocol
 * below), waits for window.ntReady and calls window.ntInit(); `open` turns its answer into the
 * session. On any failure the browser is closed; a page that never gets ready names its errors.
 */
export async function openKernelPage<Init, Session>(routes: Record<string, [string, string | Buffer]>, what: string, open: (b: BrowserHandle, page: Page, init: Init) => Session): Promise<Session> {
  const b = await launchBrowser(routes);
  try {
    const page = await b.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${b.origin}/index.html`, { waitUntil: 'load' });
    await page.waitForFunction('window.ntReady === true', { timeout: 20_000 }).catch((e: Error) => {
      throw new Error(`${what} page did not start: ${errors.join('; ') || e.message}`);
    });
    return open(b, page, (await page.evaluate('ntInit()')) as Init);
  } catch (e) {
    await b.close();
    throw e;
  }
}

/** window.ntCreate(spec, counters) in the page: the new kernel's id (`counters`: a counting build's counter buffer, WebGPU). */
export async function createInPage(page: Page, spec: unknown, counters?: unknown): Promise<number> {
  return (await page.evaluate((s: unknown, c: unknown) => (window as never as PageApi).ntCreate!(s, c), spec as never, (counters ?? null) as never)) as number;
}

/**
 * A kernel living in a page that implements the neotune page protocol: window.ntPrepare(id, x,
 * inputs), ntPoison(id), ntRun(id), ntRead(id) → base64, ntMeasure(id, opts), ntDispose(id), and
 * for counting builds ntCounters(id).
 * Only prepare and readOutput move data; timing runs inside the page.
 */
export class PageKernel implements KernelInstance {
  constructor(
    private readonly page: Page,
    private readonly id: number,
    readonly source: string,
    readonly executed: ExecutedCounts | undefined,
    private readonly inputs: (data: ProblemData) => readonly Float32Array[],
    /** Prefixed to the page's timing method (e.g. the browser). */
    private readonly host: string,
  ) {}
  private call<T>(fn: string, ...args: unknown[]): Promise<T> {
    return this.page.evaluate((f: string, a: unknown[]) => (window as never as PageApi)[f]!(...a), fn, args) as Promise<T>;
  }
  async prepare(data: ProblemData): Promise<void> {
    await this.call('ntPrepare', this.id, float32ToBase64(data.x), this.inputs(data).map(float32ToBase64));
  }
  async poisonOutput(): Promise<void> {
    await this.call('ntPoison', this.id);
  }
  async run(): Promise<void> {
    await this.call('ntRun', this.id);
  }
  async readOutput(): Promise<Float32Array> {
    return base64ToFloat32(await this.call<string>('ntRead', this.id));
  }
  /** A counting build's counters (window.ntCounters: pages whose kernels have them). */
  async readCounters(): Promise<Uint32Array> {
    return Uint32Array.from(await this.call<number[]>('ntCounters', this.id));
  }
  async measure(opts: MeasureOptions): Promise<DeviceTiming> {
    const t = await this.call<DeviceTiming>('ntMeasure', this.id, opts);
    const w = t.without_readback;
    return { samples_ms: t.samples_ms, method: `${this.host} ${t.method}`, ...(w ? { without_readback: { samples_ms: w.samples_ms, method: `${this.host} ${w.method}` } } : {}) };
  }
  async dispose(): Promise<void> {
    await this.call('ntDispose', this.id).catch(() => {});
  }
}
