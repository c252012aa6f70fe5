/**
 * The neotune page (page/): its files, bundled with esbuild from the compiled modules: index.html,
 * app.js (the page) and tune-worker.js (the tuner, in a Web Worker). `neotune page --out DIR`
 * writes them; `neotune serve` serves them with the cross-origin isolation headers that WebAssembly
 * threads need.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/files.js';
import { checkNoNodeImports, WEB_BUNDLE_OPTIONS } from '../tuner/export.js';

const DIST_PAGE = fileURLToPath(new URL('../page/', import.meta.url));
const HTML = fileURLToPath(new URL('../../page/index.html', import.meta.url));

export interface PageFile {
  readonly type: string;
  readonly body: string;
}

/** The page's files by path ("/index.html", "/app.js", "/tune-worker.js"). */
export async function pageFiles(): Promise<Record<string, PageFile>> {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    entryPoints: { app: join(DIST_PAGE, 'app.js'), 'tune-worker': join(DIST_PAGE, 'tune-worker.js') },
    outdir: '/',
    ...WEB_BUNDLE_OPTIONS,
    platform: 'browser',
    write: false,
  });
  const files: Record<string, PageFile> = { '/index.html': { type: 'text/html; charset=utf-8', body: readFileSync(HTML, 'utf8') } };
  for (const f of r.outputFiles) {
    checkNoNodeImports(f.text, `the page bundle ${f.path}`);
    files[f.path.replace(/^.*\//, '/')] = { type: 'text/javascript; charset=utf-8', body: f.text };
  }
  return files;
}

/** Writes the page as a static site into `dir`. */
export async function writePage(dir: string): Promise<string[]> {
  const files = await pageFiles();
  mkdirSync(dir, { recursive: true });
  for (const [path, f] of Object.entries(files)) writeFileAtomic(join(dir, path), f.body);
  return Object.keys(files);
}

/**
 * The headers a host must send for the page to run WebAssembly kernels on several threads
 * (SharedArrayBuffer needs a cross-origin isolated page); without them the page tunes on one thread.
 */
export const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } as const;

/** Serves the page on `host:port` (0: a free port); resolves with the server and its URL. */
export async function servePage(host: string, port: number): Promise<{ server: Server; url: string }> {
  const files = await pageFiles();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const f = files[path === '/' ? '/index.html' : path];
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (!f) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...ISOLATION_HEADERS }).end(req.method === 'HEAD' ? undefined : f.body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
