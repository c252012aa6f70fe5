/**
 * Headless Chromium for every browser run (WebGPU and gpu.js in the browser, report rendering):
 * Debian's /usr/bin/chromium driven by puppeteer-core, pages served from 127.0.0.1 (WebGPU is not
 * exposed to about:blank).
 *
 * Safety: puppeteer talks to Chromium over a pipe (no DevTools port another local process could
 * attach to); Chromium's sandbox is on except as root, where Chromium refuses to start with it
 * (`chromiumSandbox()` says why); Chromium and its fresh profile folder are removed on every exit
 * path: close(), SIGINT, SIGTERM, SIGHUP, an uncaught error, process exit, and, through a small
 * watchdog process, a SIGKILL of neotune itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interruptsAreGraceful } from '../harness/interrupt.js';

export const CHROMIUM_PATH = process.env.NEOTUNE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
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

/** Whether Chromium runs with its sandbox here, and if not, why. */
export function chromiumSandbox(): { sandbox: boolean; why?: string } {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return { sandbox: false, why: 'running as root: Chromium does not start its sandbox for root (run neotune as a normal user to have it)' };
  if (process.env.NEOTUNE_CHROMIUM_NO_SANDBOX === '1') return { sandbox: false, why: 'NEOTUNE_CHROMIUM_NO_SANDBOX=1' };
  return { sandbox: true };
}

/** Browsers alive in this process: killed (with their profile folders removed) on any way out. */
const live = new Set<{ pid: number | undefined; dir: string }>();
let exitHooks = false;

function killLive(): void {
  for (const b of [...live]) killBrowser(b);
}

function installExitHooks(): void {
  if (exitHooks) return;
  exitHooks = true;
  process.on('exit', killLive);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.on(sig, () => {
      // A command that stops gracefully on Ctrl-C closes the browser itself (harness/interrupt.ts).
      if (sig === 'SIGINT' && interruptsAreGraceful()) return;
      killLive();
      process.stderr.write(`neotune: stopped by ${sig}\n`);
      process.exit(code);
    });
  }
}

/** A detached watchdog: when this process dies (even by SIGKILL), it kills the browser's group and removes its profile. */
function startWatchdog(pid: number, dir: string): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -9 -${pid} 2>/dev/null; rm -rf '${dir.replace(/'/g, "'\\''")}'`;
  const w = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  w.unref();
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
    // Cross-origin isolated (the only origin is this one): pages may use SharedArrayBuffer, as
    // the runtime's WebAssembly threads need.
    res.writeHead(200, { 'content-type': r[0], 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }).end(r[1]);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const userDataDir = mkdtempSync(join(tmpdir(), 'neotune-chromium-'));
  installExitHooks();
  const handle = { pid: undefined as number | undefined, dir: userDataDir };
  live.add(handle);
  const cleanup = () => {
    server.close();
    killBrowser(handle);
  };
  try {
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      // A pipe, not a DevTools port: no other local process can attach to this browser.
      pipe: true,
      args: [...CHROMIUM_ARGS, ...(chromiumSandbox().sandbox ? [] : ['--no-sandbox']), `--user-data-dir=${userDataDir}`, ...extraArgs],
    });
    handle.pid = browser.process()?.pid;
    if (handle.pid) startWatchdog(handle.pid, userDataDir);
    return {
      browser,
      version: await browser.version(),
      origin: `http://127.0.0.1:${port}`,
      async close() {
        await browser.close().catch(() => {});
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** Kills a browser's process group (puppeteer starts Chromium as a group leader) and removes its profile. */
function killBrowser(handle: { pid: number | undefined; dir: string }): void {
  if (handle.pid) {
    try {
      process.kill(-handle.pid, 'SIGKILL');
    } catch {
      /* closed already */
    }
  }
  rmSync(handle.dir, { recursive: true, force: true });
  live.delete(handle);
}
