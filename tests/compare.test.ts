/** Regression tracking: timing classes with statistics, exact proxies, missing records, history steps. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import { comparisonMarkdown, compareResults, proxyRegressions, recordKey, timingRegressions } from '../analysis/compare.js';
import { detectSteps, type HistoryLine } from '../analysis/history.js';
import { neoCellProblem, problemRecord } from '../harness/problem.js';
import { RESULTS_SCHEMA, RESULTS_VERSION, type ResultFile, type ResultRecord } from '../harness/results.js';
import { environment } from '../harness/environment.js';

/** Heavy-tailed timing noise like a shared machine's: lognormal body plus occasional 2× outliers. */
function samples(median: number, seed: number, n = 80): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => median * Math.exp(0.04 * r.gaussian()) * (r.next() < 0.05 ? 2 : 1));
}

function record(kernel: string, median: number, seed: number, macs = 1000, params: Record<string, number | string> = { rows: 2 }): ResultRecord {
  const s = samples(median, seed);
  return {
    backend: 'cpu',
    kernel,
    role: 'neocell',
    params,
    problem: problemRecord(neoCellProblem({ N: 1, C: 8, H: 14, W: 14, spec: '7' })),
    state: 'verified',
    max_rel_err: 0,
    median_ms: [...s].sort((a, b) => a - b)[s.length >> 1],
    samples_ms: s,
    flops: { useful: 1, executed: 1, dwconv7_equivalent: 1 },
    bytes: 1,
    device: 'test',
    proxies: { executed_macs: macs, code_lines: 100, code_memory_ops: 20 },
  };
}

const file = (records: ResultRecord[]): ResultFile => ({ schema: RESULTS_SCHEMA, version: RESULTS_VERSION, created: '2026-01-01T00:00:00Z', command: 'test', environment: environment(), records });

describe('compare', () => {
  it('a 30 % slower kernel is regressed, a 30 % faster one improved', () => {
    const c = compareResults(file([record('a', 1, 1), record('b', 1, 2)]), file([record('a', 1.3, 3), record('b', 0.7, 4)]));
    assert.deepEqual(
      c.records.map((r) => [r.key.split(' ')[1], r.timing]),
      [
        ['a', 'regressed'],
        ['b', 'improved'],
      ],
    );
    assert.equal(timingRegressions(c).length, 1);
  });

  it('same code, new noise: never flagged over 50 seeded A/A pairs', () => {
    for (let seed = 0; seed < 50; seed++) {
      const c = compareResults(file([record('a', 1, seed)]), file([record('a', 1, seed + 1000)]));
      assert.ok(!['regressed', 'improved'].includes(c.records[0]!.timing), `seed ${seed}: ${c.records[0]!.timing}`);
    }
  });

  it('with the machine\'s run-to-run noise, a 10 % shift between single runs is inconclusive; a 2× one still regressed', () => {
    const noisy = { threshold: 0.05, alpha: 0.05, runNoise: 0.2 };
    assert.equal(compareResults(file([record('a', 1, 1)]), file([record('a', 1.1, 2)]), noisy).records[0]!.timing, 'inconclusive');
    assert.equal(compareResults(file([record('a', 1, 1)]), file([record('a', 1.1, 2)])).records[0]!.timing, 'regressed');
    assert.equal(compareResults(file([record('a', 1, 1)]), file([record('a', 2, 2)]), noisy).records[0]!.timing, 'regressed');
  });

  it('deterministic proxies are compared exactly: more executed work is a regression whatever the timing', () => {
    const c = compareResults(file([record('a', 1, 1, 1000)]), file([record('a', 0.9, 2, 1200)]));
    assert.equal(c.records[0]!.proxies, 'more');
    assert.deepEqual(c.records[0]!.proxy_changes, [{ proxy: 'executed_macs', base: 1000, head: 1200 }]);
    assert.equal(proxyRegressions(c).length, 1);
  });

  it('records on one side only are listed, not ignored; keys ignore parameter order', () => {
    const c = compareResults(file([record('a', 1, 1), record('gone', 1, 2)]), file([record('a', 1, 3), record('new', 1, 4)]));
    assert.equal(c.missing.length, 1);
    assert.equal(c.extra.length, 1);
    assert.match(comparisonMarkdown(c), /Missing in head \(1\)[\s\S]*gone[\s\S]*New in head \(1\)[\s\S]*new/);
    assert.equal(recordKey(record('k', 1, 1, 1, { a: 1, b: 2 })), recordKey(record('k', 1, 1, 1, { b: 2, a: 1 })));
  });
});

describe('history', () => {
  const line = (i: number, v: number): HistoryLine => ({ created: `run ${i}`, label: `c${i}`, medians: { k: v } });
  it('finds where a 20 % step started', () => {
    const r = new Rng(5);
    const h = Array.from({ length: 14 }, (_, i) => line(i, (i >= 8 ? 1.2 : 1) * Math.exp(0.02 * r.gaussian())));
    const steps = detectSteps(h);
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.index, 8);
    assert.equal(steps[0]!.label, 'c8');
    assert.ok(Math.abs(steps[0]!.ratio - 1.2) < 0.05);
  });
  it('reports nothing on a noisy flat series', () => {
    const r = new Rng(6);
    assert.deepEqual(detectSteps(Array.from({ length: 14 }, (_, i) => line(i, Math.exp(0.03 * r.gaussian())))), []);
  });
});
