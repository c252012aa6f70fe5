/** Reports: CSV and JSON round-trips, and the HTML report rendered in a real browser (Chromium). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { openBackend } from '../kernels/registry.js';
import { runSuite } from '../lib/bench.js';
import { environment } from '../harness/environment.js';
import { RESULTS_SCHEMA, RESULTS_VERSION, type ResultFile } from '../harness/results.js';
import { backendEntry } from '../kernels/registry.js';
import { CSV_COLUMNS, renderReport, reportCharts, reportCsv, reportData, reportHtml, writeReport } from '../reports/report.js';
import { resolveSuite } from '../suites/suite.js';
import { problemRecord } from '../harness/problem.js';

let file: ResultFile;

before(async () => {
  // A real, small run: verified kernels, timings, ceilings.
  const run = await openBackend(backendEntry('cpu'));
  try {
    const suite = resolveSuite('smoke', {});
    const records = await runSuite(suite, [run], { kernels: ['fused-wasm', 'sparse-js', 'dwconv-wasm', 'copy'], measure: { timeMs: 20, minSamples: 5, warmupMs: 5 }, count: true });
    file = { schema: RESULTS_SCHEMA, version: RESULTS_VERSION, created: new Date().toISOString(), command: 'test', environment: environment(), records, ceilings: [...((await run.session.ceilings?.()) ?? [])], suite: { name: suite.name, description: suite.description } };
  } finally {
    await run.session.close();
  }
});

describe('report data', () => {
  it('CSV round-trips through a CSV parser: one row per problem × backend × kernel, every column', () => {
    const d = reportData(file);
    const rows = parse(reportCsv(d), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, d.rows.length);
    assert.deepEqual(Object.keys(rows[0]!), [...CSV_COLUMNS]);
    // The exact lane: every generated kernel's operations, e.g. fused-wasm's vector multiply-adds.
    const fused = rows.find((r) => r.kernel === 'fused-wasm')!;
    assert.match(fused.operations!, /vector_madds=\d+/);
    assert.match(rows.find((r) => r.kernel === 'sparse-js')!.operations!, /float_muls=\d+/);
    assert.match(reportHtml(d), /operations per call \(exact\)[\s\S]*v\.madds \d/);
    d.rows.forEach((r, i) => {
      assert.equal(rows[i]!.kernel, r.kernel);
      assert.equal(rows[i]!.params, r.params);
      assert.equal(Number(rows[i]!.median_ms), r.median_ms);
    });
    const keys = new Set(d.rows.map((r) => `${r.case}|${r.backend}|${r.kernel}`));
    assert.equal(keys.size, d.rows.length);
  });

  it('JSON is versioned and round-trips exactly; network estimate and speedups are consistent', () => {
    const d = reportData(file);
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
    assert.equal(d.schema, 'neotune-report');
    const neo = d.rows.filter((r) => r.op === 'neocell' && r.median_ms !== null);
    assert.ok(neo.length > 0 && neo.every((r) => r.speedup_vs_dwconv! > 0 && r.useful_gflops! > 0));
    // The smoke suite is not a network: no estimate, no per-layer chart (the network test below covers them).
    assert.deepEqual(d.network, []);
    assert.equal(d.layers, undefined);
    assert.equal(d.title, 'smoke on cpu');
  });

  it('describes what ran: titled by suite and backends; network parts only for a network suite; tuning only when tuned', () => {
    const plain = reportHtml(reportData(file));
    assert.match(plain, /<h1>neotune report: smoke on cpu<\/h1>/);
    assert.ok(!/Network-level estimate|Per-layer MMACs|Tuned before measuring|NeoNeXt-T/.test(plain));
    assert.deepEqual(reportCharts(reportData(file)), ['speedup', 'roofline', 'times']);
    // An old result file that does not name its suite: titled by what it holds.
    const { suite: _s, ...anonymous } = file;
    assert.equal(reportData(anonymous as ResultFile).title, '3 NeoCell problems on cpu');
    const tuned: ResultFile = { ...file, suite: { name: 'neonext-t', description: 'NeoNeXt-T', network: { model: 't', resolution: 224 } }, tuning: { strategy: 'tpe', effort: 'quick', budget: '10 %', database: 'db.json' } };
    const d = reportData(tuned);
    assert.equal(d.title, 'neonext-t on cpu');
    assert.ok(d.layers!.length > 0);
    assert.deepEqual(reportCharts(d), ['speedup', 'layers', 'roofline', 'times']);
    const html = reportHtml(d);
    assert.match(html, /Network-level estimate/);
    assert.match(html, /Tuned before measuring: strategy tpe, effort quick/);
    // Only smoke problems were measured: the estimate says it is incomplete instead of a number.
    assert.match(html, /not every NeoCell problem of the network has a trusted timing/);
  });
});

describe('network estimate', () => {
  it('one NeoNeXt-T run estimates T and S (same problems, S has 27 stage-3 blocks), not B', async () => {
    const { networkEstimate } = await import('../reports/rows.js');
    const { networkCells } = await import('../core/network.js');
    const rows = resolveSuite('neonext-t').cases.flatMap((c) => [
      { backend: 'cpu', op: 'neocell', shape: `1x${c.neocell.C}x${c.neocell.H}x${c.neocell.W}`, spec: problemRecord(c.neocell).spec, median_ms: 1, trusted: true },
      { backend: 'cpu', op: 'dwconv', shape: `1x${c.dwconv.C}x${c.dwconv.H}x${c.dwconv.W}`, spec: 'dw7', median_ms: 4, trusted: true },
    ]) as { trusted: boolean }[];
    // A flagged timing (unstable, impossible, software renderer) never enters an estimate.
    rows[0]!.trusted = false;
    assert.deepEqual(networkEstimate(rows as never[]), []);
    rows[0]!.trusted = true;
    const est = networkEstimate(rows as never[]);
    assert.deepEqual(est.map((e) => e.model), ['NeoNeXt-T @224, batch 1', 'NeoNeXt-S @224, batch 1']);
    for (const [i, m] of (['t', 's'] as const).entries()) {
      const blocks = networkCells(m, 224).reduce((s, c) => s + c.occurrences, 0);
      assert.equal(est[i]!.neocell_ms, blocks);
      assert.equal(est[i]!.speedup, 4);
    }
  });
});

describe('HTML report in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neotune-report-'));
  let result: Awaited<ReturnType<typeof writeReport>>;
  before(async () => {
    result = await writeReport(file, dir);
  });
  after(() => {});
  it('every chart drew, with no console errors', () => {
    assert.equal(result.render!.charts, 3);
    assert.equal(result.render!.inkPerCanvas.length, 3);
    assert.ok(result.render!.inkPerCanvas.every((n) => n > 1000), JSON.stringify(result.render!.inkPerCanvas));
    assert.deepEqual(result.render!.consoleErrors, []);
  });
  it('PNG screenshot and PDF of non-trivial size', () => {
    const png = readFileSync(join(dir, 'report.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width >= 1200 && height >= 1000, `${width}×${height}`);
    assert.ok(statSync(join(dir, 'report.png')).size > 50_000);
    assert.equal(readFileSync(join(dir, 'report.pdf')).subarray(0, 5).toString(), '%PDF-');
  });
  it('with a history: a trend chart drew too, and the step change is listed', async () => {
    const { historyLine } = await import('../analysis/history.js');
    const runs = Array.from({ length: 8 }, (_, i) => {
      const scaled = { ...file, records: file.records.map((r) => (r.median_ms ? { ...r, median_ms: r.median_ms * (i >= 5 ? 1.5 : 1) * (1 + 0.01 * (i % 2)) } : r)) };
      return historyLine(scaled, `run${i}`);
    });
    const d2 = mkdtempSync(join(tmpdir(), 'neotune-report-'));
    const r = await writeReport(file, d2, true, runs);
    assert.equal(r.render!.charts, 4);
    assert.ok(r.render!.inkPerCanvas.every((n) => n > 1000));
    assert.deepEqual(r.render!.consoleErrors, []);
    assert.match(readFileSync(join(d2, 'report.html'), 'utf8'), /step from run[\s\S]*run5/);
  });

  it('user strings are escaped: a hostile case name neither breaks the HTML nor becomes a spreadsheet formula', async () => {
    const names = ['<!--<script>', '=HYPERLINK("http://x","y")', '+1', '@SUM(A1)', '\tx', "</script><b onload='x'>"];
    const hostile = { ...file, records: file.records.map((r, i) => ({ ...r, case: names[i % names.length]! })) };
    const d = mkdtempSync(join(tmpdir(), 'neotune-report-'));
    const r = await writeReport(hostile, d, true);
    assert.deepEqual(r.render!.consoleErrors, []);
    assert.ok(r.render!.inkPerCanvas.every((n) => n > 1000), 'every chart drew');
    const html = readFileSync(join(d, 'report.html'), 'utf8');
    assert.ok(!html.includes('<!--<script>') && !html.includes("<b onload='x'>"));
    const rows = parse(readFileSync(join(d, 'report.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    for (const row of rows) assert.ok(!/^[=+\-@\t\r]/.test(row.case!), `case cell ${JSON.stringify(row.case)}`);
    assert.ok(rows.some((row) => row.case === `'=HYPERLINK("http://x","y")`));
  });

  it('a network suite\'s report draws its per-layer chart too', async () => {
    const d = reportData({ ...file, suite: { name: 'neonext-t', description: 'NeoNeXt-T', network: { model: 't', resolution: 224 } } });
    const r = await renderReport(reportHtml(d), {});
    assert.equal(r.charts, 4);
    assert.ok(r.inkPerCanvas.every((n) => n > 1000), JSON.stringify(r.inkPerCanvas));
    assert.deepEqual(r.consoleErrors, []);
  });

  it('the HTML is self-contained (opens from a file with no network)', () => {
    const html = reportHtml(reportData(file));
    assert.ok(!/<script[^>]+src=/.test(html) && !/<link[^>]+href="http/.test(html));
    assert.match(html, /Chart\.js v4/);
  });
});
