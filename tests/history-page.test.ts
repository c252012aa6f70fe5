/**
 * `neotune history page`: every record's chart is drawn in Chromium, step changes and operation
 * changes are marked at the run where they start, and `history check` keeps its exit codes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyLine, operationSteps } from '../analysis/history.js';
import type { ResultFile, ResultRecord } from '../harness/results.js';
import { historyPageData, writeHistoryPage } from '../reports/history-page.js';

const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');

const record = (kernel: string, median: number, madds: number): ResultRecord => ({
  backend: 'cpu',
  kernel,
  role: 'neocell',
  params: { threads: 1 },
  problem: { op: 'neocell', N: 1, C: 64, H: 14, W: 14, spec: '64c:k7', dtype: 'float32' } as never,
  flops: { useful: 1, executed: 1, dwconv7_equivalent: 1 },
  bytes: 1,
  device: 'cpu',
  state: 'verified',
  max_rel_err: 0,
  median_ms: median,
  p10_ms: median * 0.98,
  p90_ms: median * 1.03,
  samples_ms: [median],
  quality: { stable: true, reasons: [], n_clean: 20, n_total: 20, set_aside: { preempted: 0, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 }, shape: 'unimodal', ci_rel: 0.01, target_rel: 0.02 },
  operations: { vector_madds: madds, vector_loads: 1000 },
});
/** Run i: fused-wasm 6 % slower from run 5 on; sparse-wasm 240 more multiply-adds from run 6 on. */
const run = (i: number): ResultFile => ({
  schema: 'neotune-results',
  version: 2,
  created: `2026-12-0${1 + (i % 9)}`,
  command: 'bench',
  environment: {} as never,
  records: [record('fused-wasm', 0.012 * (i >= 5 ? 1.06 : 1) * (1 + 0.002 * (i % 3)), 5000), record('sparse-wasm', 0.0124 * (1 + 0.002 * (i % 2)), i >= 6 ? 5240 : 5000)],
});

describe('history page', () => {
  const lines = Array.from({ length: 10 }, (_, i) => historyLine(run(i), `c${i}`));

  it('lines keep intervals and operations; steps start where the new level does', () => {
    assert.deepEqual(lines[0]!.intervals!['cpu fused-wasm threads=1 @ neocell 1x64x14x14 64c:k7 float32'], [0.012 * 0.99, 0.012 * 1.01]);
    const d = historyPageData(lines);
    const fused = d.records.find((r) => r.key.includes('fused-wasm'))!;
    assert.deepEqual(fused.steps.map((s) => s.index), [5]);
    assert.ok(Math.abs(fused.steps[0]!.ratio - 1.06) < 0.01);
    const sparse = d.records.find((r) => r.key.includes('sparse-wasm'))!;
    assert.deepEqual(sparse.steps, []);
    assert.deepEqual(operationSteps(lines).map((s) => [s.index, s.changes]), [[6, [{ op: 'vector_madds', before: 5000, after: 5240 }]]]);
    assert.match(sparse.operationSteps[0]!.text, /vector_madds 5000→5240 \(\+4\.8 %\)/);
  });

  it('renders in Chromium: one drawn chart per record, and a PNG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-history-'));
    const { files, render } = await writeHistoryPage(lines, dir);
    assert.equal(render.charts, 2);
    assert.equal(render.inkPerCanvas.length, 2);
    assert.ok(render.inkPerCanvas.every((n) => n > 500), JSON.stringify(render.inkPerCanvas));
    assert.deepEqual(render.consoleErrors, []);
    assert.equal(readFileSync(files[1]!).subarray(1, 4).toString(), 'PNG');
    const html = readFileSync(files[0]!, 'utf8');
    assert.match(html, /a step of \+6\.0 % starting at run 6 \(c5\)/);
    assert.match(html, /operations at run 7 \(c6\): vector_madds 5000→5240/);
  });

  it('the CLI: history page writes both files; history check still exits 5 on a slower step, 0 on none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-history-'));
    const file = join(dir, 'h.jsonl');
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const page = spawnSync(process.execPath, [CLI, 'history', 'page', '--file', file, '-o', join(dir, 'site')], { encoding: 'utf8' });
    assert.equal(page.status, 0, page.stderr);
    assert.match(page.stdout, /history\.html[\s\S]*history\.png/);
    const check = spawnSync(process.execPath, [CLI, 'history', 'check', '--file', file], { encoding: 'utf8' });
    assert.equal(check.status, 5, check.stdout + check.stderr);
    const flat = join(dir, 'flat.jsonl');
    writeFileSync(flat, lines.slice(0, 5).map((l) => JSON.stringify(l)).join('\n') + '\n');
    assert.equal(spawnSync(process.execPath, [CLI, 'history', 'check', '--file', flat], { encoding: 'utf8' }).status, 0);
    const bad = spawnSync(process.execPath, [CLI, 'history', 'draw', '--file', file], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /action.*append, check, page/);
  });
});
