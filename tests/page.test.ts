/**
 * The tuning page in Chromium (puppeteer): served by `neotune serve` (cross-origin isolated: the
 * WebAssembly kernels may use threads) and written by `neotune page --out` then served by a plain
 * static server (no isolation: one thread). Both tune the smoke suite end to end from the URL
 * parameters; the database the page hands over merges with `neotune db-merge`, every winner verified.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserHandle, chromiumMissingReason, launchBrowser } from '../harness/browser.js';
import type { TuningDb } from '../tuner/db.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'neotune.js');
// A budget of 6 evaluations per problem keeps the test short; the search, verification and timing are the real ones.
const QUERY = '?suite=smoke&backends=wasm&effort=quick&budget=6&autorun=1';

interface PageResult {
  error?: string;
  db?: TuningDb;
  isolated: boolean;
}

describe('the tuning page', { skip: chromiumMissingReason() }, () => {
  let browser: BrowserHandle;
  let serve: ChildProcess | undefined;
  before(async () => {
    browser = await launchBrowser({});
  });
  after(async () => {
    serve?.kill('SIGKILL');
    await browser.close();
  });

  async function runPage(url: string): Promise<PageResult> {
    const page = await browser.browser.newPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => (globalThis as { neotune?: { done: boolean } }).neotune?.done === true, { timeout: 300_000, polling: 500 });
      return await page.evaluate(() => {
        const n = (globalThis as unknown as { neotune: { error?: string; db?: TuningDb } }).neotune;
        return { ...(n.error ? { error: n.error } : {}), ...(n.db ? { db: n.db } : {}), isolated: crossOriginIsolated };
      });
    } finally {
      await page.close();
    }
  }

  /** The page's database through `neotune db-merge`: every entry tuned, every winner a verified candidate. */
  function checkDb(db: TuningDb, threads: RegExp): void {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-page-'));
    writeFileSync(join(dir, 'page.json'), JSON.stringify(db));
    const merged = spawnSync(process.execPath, [CLI, 'db-merge', join(dir, 'page.json'), '-o', join(dir, 'merged.json')], { encoding: 'utf8' });
    assert.equal(merged.status, 0, merged.stderr);
    const out = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as TuningDb;
    const entries = Object.entries(out.entries);
    assert.equal(entries.length, 3, 'the smoke suite\'s three NeoCell problems');
    for (const [k, e] of entries) {
      assert.match(k, /^cpu \| CPU \(\d+ threads?\) \| browser=\S+ \d+ \| /);
      assert.match(k, threads);
      assert.ok(e.winner, `${k} has a winner`);
      assert.ok(Object.values(e.candidates).some((c) => c.key === e.winner!.key && c.state === 'verified'), `${k}: its winner is verified`);
    }
  }

  it('neotune serve: isolation headers, 404 and 405; the served page tunes the smoke suite from the URL; a bad parameter is named', async () => {
    serve = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      serve!.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const index = await fetch(`${url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(index.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal((await fetch(`${url}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${url}/app.js`, { method: 'POST' })).status, 405);
    const bad = await runPage(`${url}/?suite=nope&autorun=1`);
    assert.match(bad.error ?? '', /suite=nope is not offered; allowed: smoke, neonext-t-stages/);
    assert.match((await runPage(`${url}/?budget=-1&autorun=1`)).error ?? '', /budget=-1 is not offered/);
    const r = await runPage(`${url}/${QUERY}`);
    assert.equal(r.error, undefined);
    assert.equal(r.isolated, true);
    checkDb(r.db!, /threads=\d+/);
  });

  it('neotune page --out: the static site works from a plain static server (no isolation headers: one thread)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-site-'));
    const w = spawnSync(process.execPath, [CLI, 'page', '--out', dir], { encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      try {
        const file = join(dir, path === '/' ? 'index.html' : path.replace(/^\/+/, ''));
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const r = await runPage(`http://127.0.0.1:${(server.address() as { port: number }).port}/${QUERY}`);
      assert.equal(r.error, undefined);
      assert.equal(r.isolated, false);
      checkDb(r.db!, /threads=1 \|\| /);
      // 100 µs clock steps: samples batched to span many steps, and the step recorded with each timing.
      const timed = Object.values(r.db!.entries).flatMap((e) => Object.values(e.candidates)).filter((c) => c.state === 'verified');
      assert.ok(timed.length > 0 && timed.every((c) => /clock step 0\.\d+ ms/.test(c.timing_method ?? '') && c.samples_ms!.every((v) => v > 0)), timed[0]?.timing_method);
    } finally {
      server.close();
    }
  });
});
