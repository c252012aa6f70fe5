/**
 * The neotune page (page/): its files, bundled with esbuild from the compiled modules: index.html,
 * app.js (the page) and tune-worker.js (the tuner, in a Web Worker). `neotune page --out DIR`
 * writes them; `neotune serve` serves them with the cross-origin isolation headers that WebAssembly
 * threads need.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOutputFiles, recordOutputFiles, writeFileAtomic } from '../core/files.js';
import { emptyDb, TuningStore } from '../tuner/db.js';
import { checkNoNodeImports, runtimeBundleTemplate, WEB_BUNDLE_OPTIONS } from '../tuner/export.js';
import { shippedHubs } from '../tuner/shipped-space.js';
import { checkSubmission, leaderboard, leaderboardHtml, MAX_SUBMISSION_BYTES, mergeSubmission, SubmissionError } from './collect.js';

const DIST_PAGE = fileURLToPath(new URL('../page/', import.meta.url));
const HTML = fileURLToPath(new URL('../../page/index.html', import.meta.url));

/** The page's copy of the runtime bundle template (tuner/export.ts). */
export const RUNTIME_TEMPLATE = '/neocell-runtime.template.js';

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
  // The runtime bundle with an empty table slot: the page fills in its tuned choices (a download).
  files[RUNTIME_TEMPLATE] = { type: 'text/javascript; charset=utf-8', body: await runtimeBundleTemplate() };
  // The hub of exhaustive spaces: the tuning worker trains the cost model on it, as the CLI does.
  files['/hubs.json'] = { type: 'application/json; charset=utf-8', body: JSON.stringify(shippedHubs()) };
  return files;
}

/** The names of the page's files in a static site. */
export const PAGE_FILE_NAMES = ['index.html', 'app.js', 'tune-worker.js', RUNTIME_TEMPLATE.slice(1), 'hubs.json'] as const;

/**
 * Writes the page as a static site into `dir` (option `field`). A folder holding files of the
 * same names that neotune did not write is refused before anything is written, unless `force`;
 * the files are never written through links (core/files.ts checkOutputFiles).
 */
export async function writePage(dir: string, o: { force?: boolean; field?: string } = {}): Promise<string[]> {
  checkOutputFiles(o.field ?? 'out', dir, PAGE_FILE_NAMES, o.force);
  const files = await pageFiles();
  checkOutputFiles(o.field ?? 'out', dir, Object.keys(files).map((p) => p.slice(1)), o.force);
  mkdirSync(dir, { recursive: true });
  for (const [path, f] of Object.entries(files)) writeFileAtomic(join(dir, path), f.body, { followLink: false });
  recordOutputFiles(dir, Object.keys(files).map((p) => p.slice(1)));
  return Object.keys(files);
}

/**
 * The headers a host must send for the page to run WebAssembly kernels on several threads
 * (SharedArrayBuffer needs a cross-origin isolated page); without them the page tunes on one thread.
 */
export const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } as const;

const SECURITY_HEADERS = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...ISOLATION_HEADERS } as const;

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end(body);
}

/** The path of a request target, or undefined when it does not parse as one (`//[`, `http://[`). */
export function requestPath(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** A client's text (a method, a path) for the server's log: control characters shown, not sent to the terminal. */
const safeText = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS }).end(JSON.stringify(body) + '\n');
}

/** The request's body, or undefined (after a 413 was sent) when it is longer than `limit` bytes. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => {
      json(res, 413, { error: `the body has more than ${limit} bytes; allowed: a tuning database of at most ${limit} bytes`, field: 'body' });
      req.resume();
      resolve(undefined);
    };
    if (declared > limit) return tooLarge();
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        req.removeAllListeners('data');
        tooLarge();
      } else parts.push(d);
    });
    req.on('end', () => size <= limit && resolve(Buffer.concat(parts)));
    // A client gone before the end of its body: nothing to merge, nothing to answer.
    req.on('close', () => resolve(undefined));
    req.on('error', reject);
  });
}

/**
 * The collection routes of `serve --collect DB`: POST /api/results (a page's tuning database,
 * checked, then merged into DB; merges one at a time), GET /leaderboard (HTML) and
 * /leaderboard.json; GET /api/collect tells the page that submissions are taken.
 */
function collector(db: string, log: (s: string) => void) {
  let queue: Promise<unknown> = Promise.resolve();
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path === '/api/collect' && req.method === 'GET') return json(res, 200, { collect: true, max_bytes: MAX_SUBMISSION_BYTES, leaderboard: '/leaderboard' }), true;
    if (path === '/leaderboard' || path === '/leaderboard.json') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return res.writeHead(405, { allow: 'GET, HEAD' }).end(), true;
      const rows = leaderboard(existsSync(db) ? (await TuningStore.open(db, { write: false, field: 'collect' })).db : emptyDb());
      if (path.endsWith('.json')) json(res, 200, rows);
      else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'", ...SECURITY_HEADERS }).end(req.method === 'HEAD' ? undefined : leaderboardHtml(rows));
      return true;
    }
    if (path !== '/api/results') return false;
    if (req.method !== 'POST') return res.writeHead(405, { allow: 'POST' }).end(), true;
    const body = await readBody(req, res, MAX_SUBMISSION_BYTES);
    if (!body) return true;
    const merged = queue.then(async () => mergeSubmission(db, await checkSubmission(body, req.headers['content-type'])));
    queue = merged.catch(() => undefined);
    try {
      const r = await merged;
      log(`neotune serve: merged ${r.entries} entries from ${req.socket.remoteAddress} into ${db}`);
      json(res, 200, { merged: r.entries, leaderboard: '/leaderboard' });
    } catch (e) {
      if (!(e instanceof SubmissionError)) throw e;
      log(`neotune serve: refused a submission from ${req.socket.remoteAddress} (${e.status}): ${safeText(e.message)}`);
      json(res, e.status, { error: e.message, field: e.field });
    }
    return true;
  };
}

export interface ServeOptions {
  /** A tuning database that takes the page's submissions (`serve --collect DB`). */
  readonly collect?: string;
  readonly log?: (s: string) => void;
}

/** Serves the page on `host:port` (0: a free port); resolves with the server and its URL. */
export async function servePage(host: string, port: number, o: ServeOptions = {}): Promise<{ server: Server; url: string }> {
  const files = await pageFiles();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const collect = o.collect !== undefined ? collector(o.collect, log) : undefined;
  // No request may end the process: a target that is not a URL path is a 400, anything a handler
  // throws is a 500 for that request alone, and malformed request lines or headers are answered
  // by clientError (a 400, then the connection closes).
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = requestPath(req.url);
    if (path === undefined) return void text(res, 400, 'bad request: the request target is not a URL path\n');
    if (!collect) return serveFile(req, res, path);
    collect(req, res, path)
      .then((done) => done || serveFile(req, res, path))
      .catch((e: unknown) => {
        log(`neotune serve: ${safeText(req.method ?? '')} ${safeText(path)} failed: ${safeText(e instanceof Error ? e.message : String(e))}`);
        if (!res.headersSent) json(res, 500, { error: 'the server could not store the submission; nothing was written' });
        else res.end();
      });
  };
  const server = createServer({ requestTimeout: 60_000, headersTimeout: 30_000 }, (req, res) => {
    // A request stream error (a client that resets mid-body) is that request's alone.
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    try {
      handle(req, res);
    } catch (e) {
      log(`neotune serve: a request failed: ${safeText(e instanceof Error ? e.message : String(e))}`);
      if (!res.headersSent) text(res, 500, 'internal error: the request was not served\n');
      else res.destroy();
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    socket.end(`HTTP/1.1 ${err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  const serveFile = (req: IncomingMessage, res: ServerResponse, path: string) => {
    const f = Object.hasOwn(files, path === '/' ? '/index.html' : path) ? files[path === '/' ? '/index.html' : path] : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (!f) return void text(res, 404, 'not found\n');
    res.writeHead(200, { 'content-type': f.type, ...SECURITY_HEADERS }).end(req.method === 'HEAD' ? undefined : f.body);
  };
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
