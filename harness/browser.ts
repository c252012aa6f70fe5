/**
 * Headless Chromium for every browser run (WebGPU and gpu.js in the browser, report rendering):
 * Debian's /usr/bin/chromium driven by puppeteer-core, pages served from 127.0.0.1 (WebGPU is not
 * exposed to about:blank), flags from ../shared/PLATFORM.md.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_PATH = process.env.NEOTUNE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface BrowserHandle {
  readonly browser: import('puppeteer-core').Browser;
  readonly version: string;
  /** Origin of a local server whose routes map path → HTML/JS text. */
  readonly origin: string;
  close(): Promise<void>;
}

export function chromiumMissingReason(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) return `${CHROMIUM_PATH} not found (apt-get install chromium, or set NEOTUNE_CHROMIUM)`;
  return undefined;
}

/** Launches headless Chromium and a 127.0.0.1 server answering `routes` (path → [content type, body]). */
export async function launchBrowser(routes: Record<string, [string, string | Buffer]>, extraArgs: readonly string[] = []): Promise<BrowserHandle> {
  const missing = chromiumMissingReason();
  if (missing) throw new Error(missing);
  const puppeteer = await import('puppeteer-core');
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const r = routes[path === '/' ? '/index.html' : path];
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': r[0] }).end(r[1]);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const userDataDir = mkdtempSync(join(tmpdir(), 'neotune-chromium-'));
  try {
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, `--user-data-dir=${userDataDir}`, ...extraArgs],
    });
    return {
      browser,
      version: await browser.version(),
      origin: `http://127.0.0.1:${port}`,
      async close() {
        await browser.close().catch(() => {});
        server.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
}
