/**
 * The tuning page in Chromium (puppeteer): served by `neotune serve --collect` (cross-origin
 * isolated: the WebAssembly kernels may use threads) and written by `neotune page --out` then
 * served by a plain static server (no isolation: one thread). The served page tunes the smoke
 * suite end to end on WebAssembly and WebGPU (SwiftShader here, tuned with include-software=1 and
 * flagged) from the URL parameters; the database the page hands over merges with `neotune
 * db-merge`, every winner verified; the kernel bundle downloaded from the page runs a case in
 * Node; the submission is merged and shown on the leaderboard, and bad submissions are refused
 * with a 4xx naming the field while the collected database stays byte-identical.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type BrowserHandle, chromiumMissingReason, launchBrowser } from '../browser/chromium.js';
import type { TuningDb } from '../tuner/db.js';
import { WEB_BUNDLE_OPTIONS } from '../tuner/export.js';
import { neoCellProblem } from '../harness/problem.js';
import { neoCellReference } from '../core/reference.js';
import { Rng } from '../core/rng.js';
import { randomWeights } from '../core/weights.js';
import { verifyOutput } from '../harness/verify.js';
import type { NeoCell, NeoCellLayer, NeoCellTarget } from '../runtime/neocell.js';
import { pathToFileURL } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'neotune.js');
// A budget of 2 evaluations per problem keeps the test short; the search, verification and timing are the real ones.
const QUERY = '?suite=smoke&backends=wasm&effort=quick&budget=2&autorun=1';

interface PageResult {
  error?: string;
  db?: TuningDb;
  isolated: boolean;
  notes: string[];
  results: { case: string; op: string; backend: string; median_ms: number | null; software: string | null; timing_method: string | null; unstable: string | null }[];
  submitted?: { status: number; body: { merged?: number; error?: string } };
  /** The page's downloads, fetched from their links: CSV and the kernel bundles by device. */
  csv?: string;
  bundles: { device: string; text: string }[];
  /** Report charts drawn on the page (speedup, times). */
  charts: number;
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
      return await page.evaluate(async () => {
        const n = (globalThis as unknown as { neotune: Omit<PageResult, 'isolated' | 'csv' | 'bundles' | 'charts'> }).neotune;
        const csvLink = document.querySelector<HTMLAnchorElement>('#download-csv');
        const csv = csvLink && !csvLink.hidden ? await (await fetch(csvLink.href)).text() : undefined;
        const bundles = await Promise.all(Array.from(document.querySelectorAll<HTMLAnchorElement>('#bundles a')).map(async (a) => ({ device: a.dataset.device!, text: await (await fetch(a.href)).text() })));
        const charts = document.querySelector<HTMLElement>('#charts')!.hidden ? 0 : Array.from(document.querySelectorAll<HTMLCanvasElement>('#charts canvas')).filter((c) => c.width > 0 && c.height > 0).length;
        return { ...n, notes: n.notes ?? [], results: n.results ?? [], isolated: crossOriginIsolated, ...(csv !== undefined ? { csv } : {}), bundles, charts };
      });
    } finally {
      await page.close();
    }
  }

  /** The page's database through `neotune db-merge`: every entry tuned, every winner a verified candidate. */
  function checkDb(db: TuningDb, threads: RegExp, entriesWanted = 6): TuningDb {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-page-'));
    writeFileSync(join(dir, 'page.json'), JSON.stringify(db));
    const merged = spawnSync(process.execPath, [CLI, 'db-merge', join(dir, 'page.json'), '-o', join(dir, 'merged.json')], { encoding: 'utf8' });
    assert.equal(merged.status, 0, merged.stderr);
    const out = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as TuningDb;
    const entries = Object.entries(out.entries);
    assert.equal(entries.length, entriesWanted, 'the smoke suite\'s three NeoCell problems and their depthwise convs, per backend');
    for (const [k, e] of entries) {
      if (e.backend === 'cpu') {
        assert.match(k, /^cpu \| CPU \(\d+ threads?\) \| browser=\S+ \d+ \| /);
        assert.match(k, threads);
      } else assert.match(k, /^webgpu-browser \| \S+ \d+: .* \| browser=/);
      assert.ok(e.winner, `${k} has a winner`);
      assert.ok(Object.values(e.candidates).some((c) => c.key === e.winner!.key && c.state === 'verified'), `${k}: its winner is verified`);
    }
    return out;
  }

  let url: string;
  let collected: string;
  let pageDb: TuningDb;

  it('neotune serve --collect: isolation headers, 404 and 405; the served page tunes the smoke suite on WebAssembly and WebGPU from the URL and submits it; a bad parameter is named', async () => {
    collected = join(mkdtempSync(join(tmpdir(), 'neotune-collect-')), 'collected.json');
    serve = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--collect', collected], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
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
    // SwiftShader here: WebGPU is left out (with a note) unless include-software=1.
    const r = await runPage(`${url}/?suite=smoke&backends=wasm,webgpu&effort=quick&budget=4&include-software=1&autorun=1&submit=1`);
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.isolated, true);
    checkDb(r.db!, /threads=\d+/, 12);
    pageDb = r.db!;
    const gpu = r.results.filter((x) => x.backend === 'webgpu');
    assert.equal(gpu.length, 6);
    assert.ok(gpu.every((x) => x.software && /timestamp-query|wall time/.test(x.timing_method ?? '')), 'WebGPU times flagged as a software renderer\'s, with their timing method');
    assert.ok(gpu.some((x) => /clock step/.test(x.timing_method ?? '')), 'the timestamp clock step is recorded');
    // Charts show the speedups the page could compute (a speedup from an unstable timing is withheld).
    const wasm = r.results.filter((x) => x.backend === 'wasm');
    const comparable = wasm.some((n) => n.op === 'neocell' && !n.unstable && wasm.some((d) => d.op === 'dwconv' && d.case === n.case && !d.unstable));
    assert.equal(r.charts, comparable ? 2 : 0, 'the speedup and time charts are drawn');
    // The CSV download: a header and one line per tuned problem.
    assert.equal(r.csv!.trim().split('\n').length, 13);
    assert.match(r.csv!, /^case,op,backend,device,shape,winner,median_ms,timing_method,evaluated,failed,software/);
    // The submission: merged, marked, on the leaderboard; software renderer times never shown as results.
    assert.equal(r.submitted?.status, 200, JSON.stringify(r.submitted));
    assert.equal(r.submitted?.body.merged, 12);
    const stored = JSON.parse(readFileSync(collected, 'utf8')) as TuningDb;
    assert.equal(Object.keys(stored.entries).length, 12);
    assert.ok(Object.values(stored.entries).every((e) => e.measured_in === 'visitor-browser'));
    const board = (await (await fetch(`${url}/leaderboard.json`)).json()) as { device: string; median_ms: number | null; speedup: number | null; software?: string; unstable?: string }[];
    assert.equal(board.length, 6, 'one row per NeoCell problem and device');
    for (const row of board) {
      if (row.device.startsWith('webgpu-browser')) assert.ok(row.software && row.median_ms === null && row.speedup === null, JSON.stringify(row));
      else assert.ok(row.median_ms! > 0 && (row.speedup! > 0 || /timing unstable: /.test(row.unstable ?? '')), JSON.stringify(row));
    }
    // The leaderboard shows the page's own winners (re-validated side by side in the browser), not winners re-chosen from search timings.
    const pageNeoCpu = r.results.filter((x) => x.op === 'neocell' && x.backend === 'wasm').map((x) => x.median_ms).sort();
    assert.deepEqual(board.filter((row) => row.device.startsWith('cpu')).map((row) => row.median_ms).sort(), pageNeoCpu);
    const html = await (await fetch(`${url}/leaderboard`)).text();
    assert.match(html, /neotune leaderboard/);
    assert.match(html, /software renderer \(swiftshader\)/i);

    // Without include-software, WebGPU on a software renderer is not tuned, and the page says why.
    const plain = await runPage(`${url}/?suite=smoke&backends=webgpu,wasm&budget=1&autorun=1`);
    assert.ok(plain.notes.some((n) => /software renderer/.test(n)), plain.notes.join('; '));
    assert.ok(plain.results.every((x) => x.backend === 'wasm'));

    // The kernel bundle downloaded from the page runs the tuned choice in Node, verified against the float64 reference.
    const cpuBundle = r.bundles.find((b) => b.device.startsWith('cpu'))!;
    assert.ok(cpuBundle && r.bundles.some((b) => b.device.startsWith('webgpu-browser')), 'a bundle per tuned device');
    const file = join(mkdtempSync(join(tmpdir(), 'neotune-page-bundle-')), 'neocell.js');
    writeFileSync(file, cpuBundle.text);
    const m = (await import(pathToFileURL(file).href)) as { createNeoCell(t: NeoCellTarget, l: NeoCellLayer): Promise<NeoCell>; TABLE: { device: string } };
    assert.equal(m.TABLE.device, cpuBundle.device);
    const p = neoCellProblem({ N: 1, C: 32, H: 28, W: 28, spec: '4+7', shift: 1 });
    const cell = await m.createNeoCell({ backend: 'wasm' }, { N: 1, C: 32, H: 28, W: 28, spec: '4+7', shift: 1 });
    assert.equal(cell.choice.tuned, true, JSON.stringify(cell.choice));
    const w = randomWeights(p.cell, 3);
    const x = new Rng(4).float32Array(32 * 28 * 28);
    cell.setWeights(w.a.map((v) => Float32Array.from(v)), w.b.map((v) => Float32Array.from(v)));
    assert.ok(verifyOutput(await cell.run(x), neoCellReference(x, p, p.cell, w), 'float32').ok);
    await cell.dispose();
  });

  it('serve --collect: malformed, oversized, wrong-typed and foreign submissions get a 4xx naming the field; the database stays byte-identical', async () => {
    const before = readFileSync(collected);
    const post = async (body: string, type = 'application/json') => {
      const r = await fetch(`${url}/api/results`, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: r.status, body: (await r.json()) as { error: string; field: string } };
    };
    const entryKey = Object.keys(pageDb.entries).find((k) => k.startsWith('cpu') && k.includes('neocell'))!;
    const entry = pageDb.entries[entryKey]!;
    const candidateKey = Object.keys(entry.candidates)[0]!;
    const variant = (changes: (e: typeof entry) => void) => {
      const copy = structuredClone(pageDb);
      changes(copy.entries[entryKey]!);
      return JSON.stringify(copy);
    };
    const noBrowser = (key: string) => key.replace(/ \| browser=[^|]*?(?= \||$)/, '');
    const cases: [string, Promise<{ status: number; body: { error: string; field: string } }>, number, RegExp][] = [
      ['malformed JSON', post('{"schema": "neotune-tuning-db", '), 400, /^body$|^$/],
      ['not JSON', post('x', 'text/plain'), 415, /^content-type$/],
      ['oversized', post(' '.repeat(3 * 2 ** 20)), 413, /^body$/],
      ['wrong type', post(variant((e) => ((e.candidates[candidateKey] as { median_ms: unknown }).median_ms = 'fast'))), 400, /median_ms/],
      ['infinite', post(JSON.stringify(pageDb).replace(/"median_ms":[0-9.e-]+/, '"median_ms":1e999')), 400, /median_ms/],
      ['unknown variant', post(variant((e) => ((e.candidates[candidateKey]!.config as { variant: string }).variant = 'evil-wasm'))), 400, /\.config\.variant$/],
      ['parameter outside its domain', post(variant((e) => ((e.candidates[candidateKey]!.config.params as Record<string, unknown>).rows = 999))), 400, /\.config\.params$/],
      ['a device not measured in a browser', post(JSON.stringify({ ...pageDb, entries: Object.fromEntries(Object.entries(pageDb.entries).map(([k, e]) => [noBrowser(k), { ...e, device: noBrowser(e.device) }])) })), 400, /\.device$/],
      ['a problem whose record does not rebuild', post(variant((e) => ((e.problem as { label: string }).label = '<script>'))), 400, /problem\.label$/],
    ];
    for (const [what, reply, status, field] of cases) {
      const r = await reply;
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.field ?? '', field, `${what}: ${JSON.stringify(r.body)}`);
      assert.ok(r.body.error.length > 10, what);
    }
    assert.deepEqual(readFileSync(collected), before, 'nothing was written');
  });

  it('the leaderboard withholds a speedup whose NeoCell or depthwise time is unstable, saying which and why', async () => {
    const { leaderboard } = await import('../lib/collect.js');
    const db = structuredClone(pageDb);
    const cpu = Object.values(db.entries).filter((e) => e.backend === 'cpu');
    const winnerOf = (e: (typeof cpu)[number]) => Object.values(e.candidates).find((x) => x.key === e.winner!.key)! as unknown as { quality: { stable: boolean; reasons: string[] } };
    // Every CPU timing stable first (the run's own may not all be), then one depthwise conv's made unstable.
    for (const e of cpu) {
      const c = winnerOf(e);
      c.quality = { ...c.quality, stable: true, reasons: [] };
      delete (e.winner!.confidence as { unstable?: boolean }).unstable;
    }
    assert.equal(leaderboard(db).filter((r) => r.speedup !== null).length, 3);
    const c = winnerOf(cpu.find((e) => e.problem.op === 'dwconv')!);
    c.quality = { ...c.quality, stable: false, reasons: ['median CI ±3.1 % is wider than the target ±2.0 %'] };
    const after = leaderboard(db);
    const hit = after.filter((r) => r.unstable);
    assert.equal(hit.length, 1);
    assert.equal(hit[0]!.speedup, null);
    assert.match(hit[0]!.unstable!, /^depthwise 7×7 timing unstable: median CI ±3\.1 %/);
    assert.equal(after.filter((r) => r.speedup !== null).length, 2);
    const { leaderboardHtml } = await import('../lib/collect.js');
    assert.match(leaderboardHtml(after), /withheld: unstable timing/);
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
        const body = readFileSync(file);
        res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
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

  it("the page's WebGPU session: a device lost under a prepared kernel fails that kernel naming the loss; the next candidate verifies on a new device", async () => {
    const esbuild = await import('esbuild');
    const built = await esbuild.build({ entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'page-gpu-loss.js')], ...WEB_BUNDLE_OPTIONS, platform: 'browser', write: false });
    const b = await launchBrowser({ '/index.html': ['text/html', '<!doctype html><script type="module" src="/loss.js"></script>'], '/loss.js': ['text/javascript', built.outputFiles[0]!.text] });
    try {
      const page = await b.browser.newPage();
      await page.goto(`${b.origin}/index.html`);
      await page.waitForFunction(() => typeof (globalThis as { gpuLossCheck?: unknown }).gpuLossCheck === 'function');
      const r = (await page.evaluate(() => (globalThis as unknown as { gpuLossCheck: () => Promise<unknown> }).gpuLossCheck())) as { inFlightError: string | null; next: string; nextError: string | null; newDevice: boolean };
      assert.match(r.inFlightError ?? 'it ran', /device lost.*unknown: simulated loss/);
      assert.equal(r.next, 'verified', r.nextError ?? '');
      assert.equal(r.newDevice, true);
    } finally {
      await b.close();
    }
  });
});
