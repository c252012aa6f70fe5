/**
 * The paired sequential comparison (analysis/sequential.ts): it stops early on a clear difference
 * and on a clear non-difference (fixture kernels timed in this process), and the chance that any
 * record of a suite of identical records is declared regressed or improved stays under the nominal
 * suite-wide α (simulated suites, heavy-tailed noise and disturbed rounds included).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lookSchedule, perLookLevel, runSequential, sequentialVerdict, type SequentialPlan, trimmedMean } from '../analysis/sequential.js';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { evaluateCandidate } from '../harness/evaluate.js';
import { fixtureKernel } from '../harness/fixture-kernel.js';
import { copyProblem, makeProblemData } from '../harness/problem.js';
import { cpuDevice } from '../kernels/cpu/backend.js';

const plan = (records: number, looks = lookSchedule(5, 40)): SequentialPlan => ({ threshold: 0.05, alpha: 0.05, records, looks });

describe('look schedule and verdicts', () => {
  it('looks geometrically from the first to the last round, and refuses impossible bounds by name', () => {
    assert.deepEqual(lookSchedule(5, 40), [5, 7, 10, 14, 20, 28, 40]);
    assert.deepEqual(lookSchedule(3, 3), [3]);
    assert.throws(() => lookSchedule(2, 10), (e: unknown) => e instanceof InputError && /min-rounds/.test(e.message));
    assert.throws(() => lookSchedule(10, 5), (e: unknown) => e instanceof InputError && /max-rounds/.test(e.message));
  });

  it('splits α over looks and records, one side at a time', () => {
    assert.equal(perLookLevel(plan(20)), 0.05 / (2 * 20 * 7));
  });

  it('regressed needs the whole interval above a quarter of the threshold; unchanged the whole interval within it', () => {
    const p = plan(1);
    const steady = (center: number, n = 20) => Array.from({ length: n }, (_, i) => center + (i % 2 ? 0.002 : -0.002));
    assert.equal(sequentialVerdict(steady(Math.log(1.05)), p).decision, 'regressed');
    assert.equal(sequentialVerdict(steady(Math.log(0.95)), p).decision, 'improved');
    const same = sequentialVerdict(steady(0), p);
    assert.equal(same.decision, 'unchanged');
    assert.ok(same.resolution! < 0.01, `resolution ${same.resolution}`);
    // 1 % slower, precisely: within a quarter of the threshold, so unchanged (its interval says by how much)
    assert.equal(sequentialVerdict(steady(Math.log(1.01)), p).decision, 'unchanged');
    // 2 % slower, precisely: beyond a quarter of it, regressed
    assert.equal(sequentialVerdict(steady(Math.log(1.02)), p).decision, 'regressed');
    // Wide: nothing can be said
    assert.equal(sequentialVerdict([0.1, -0.1, 0.12, -0.09, 0.02], p).decision, 'inconclusive');
  });
});

describe('sequential stopping on fixture kernels (timed here)', () => {
  const session = { backend: 'cpu' as const, device: cpuDevice(), close: async () => {} };
  const problem = copyProblem({ N: 1, C: 4, H: 16, W: 16 });
  const data = makeProblemData(problem, 1);
  const variant = fixtureKernel(4000);
  const median = async (factor: number) => {
    const r = await evaluateCandidate(session, variant, problem, { factor }, data, { measure: { timeMs: 15, minSamples: 10, warmupMs: 5 } });
    assert.equal(r.state, 'verified');
    return r.median_ms!;
  };
  const rounds = (headFactor: number) => async () => {
    const base = await median(1);
    const head = await median(headFactor);
    return new Map([['fixture', { base_ms: base, head_ms: head }]]);
  };

  it('a clear slowdown (+30 %) is decided regressed at the first look', async () => {
    const r = await runSequential(plan(1), rounds(1.3), () => true);
    assert.equal(r.verdicts.get('fixture')!.decision, 'regressed');
    assert.equal(r.rounds, 5);
    assert.equal(r.stopped, 'decided');
  });

  it('a clear non-difference is decided unchanged long before the last look', async () => {
    const r = await runSequential(plan(1), rounds(1), () => true);
    assert.equal(r.verdicts.get('fixture')!.decision, 'unchanged', JSON.stringify(r.verdicts.get('fixture')));
    assert.ok(r.rounds <= 14, `${r.rounds} rounds`);
  });

  it('compare --self-test runs this procedure: the twin neither regressed nor improved, 30 % slower regressed, 30 % faster improved', async () => {
    const { detectionSelfTest } = await import('../lib/compare.js');
    const t = await detectionSelfTest({ threshold: 0.05, alpha: 0.05 });
    const decided = Object.fromEntries(t.records.map((r) => [r.name, r.verdict.decision]));
    assert.ok(['unchanged', 'inconclusive'].includes(decided['unchanged twin']!), JSON.stringify(decided));
    assert.equal(decided['30 % slower'], 'regressed');
    assert.equal(decided['30 % faster'], 'improved');
    assert.ok(t.passed && t.rounds >= 5);
  });

  it('decided records leave the rounds; the time budget ends a run with one last look', async () => {
    const open: number[] = [];
    let calls = 0;
    const r = await runSequential(
      plan(2),
      async (_i, undecided) => {
        // The first round is asked for every record (the suite is what it measures on both sides).
        open.push(undecided?.size ?? -1);
        calls++;
        // a: exactly 10 % slower every round; b: noise far wider than any threshold
        return new Map([
          ['a', { base_ms: 1, head_ms: 1.1 }],
          ['b', { base_ms: 1, head_ms: calls % 2 ? 1.5 : 0.6 }],
        ]);
      },
      () => calls < 8,
    );
    assert.equal(r.verdicts.get('a')!.decision, 'regressed');
    assert.equal(r.verdicts.get('b')!.decision, 'inconclusive');
    assert.equal(r.stopped, 'time');
    assert.equal(r.rounds, 8);
    assert.deepEqual(open, [-1, 2, 2, 2, 2, 1, 1, 1]);
    assert.deepEqual(r.keys, ['a', 'b']);
  });
});

describe('suite-level error control', () => {
  /** Simulated suites of identical records: how often any record is declared regressed or improved. */
  async function falseAlarmRate(o: { suites: number; records: number; noise: (rng: Rng) => number; seed: number }): Promise<number> {
    const rng = new Rng(o.seed);
    // A threshold of 0.2 % leaves the regression margin (a quarter of it) at nearly nothing: only the
    // suite-wide level keeps identical records from being flagged (with α per record, 47 % of
    // these suites had a false alarm).
    const p = { ...plan(o.records, lookSchedule(5, 30)), threshold: 0.002 };
    let alarms = 0;
    for (let s = 0; s < o.suites; s++) {
      const keys = Array.from({ length: o.records }, (_, i) => `r${i}`);
      const r = await runSequential(p, async () => new Map(keys.map((k) => [k, { base_ms: Math.exp(o.noise(rng)), head_ms: Math.exp(o.noise(rng)) }])), () => true);
      if ([...r.verdicts.values()].some((v) => v.decision === 'regressed' || v.decision === 'improved')) alarms++;
    }
    return alarms / o.suites;
  }
  it('20 identical records, Gaussian noise: suite-level false alarms under α = 5 %', async () => {
    const rate = await falseAlarmRate({ suites: 400, records: 20, noise: (rng) => 0.03 * rng.gaussian(), seed: 11 });
    // 400 suites at a true rate ≤ 5 %: above 8 % would be > 3 σ.
    assert.ok(rate <= 0.08, `false-alarm rate ${rate}`);
  });

  it('Yuen: the trimmed mean and its standard error', () => {
    const t = trimmedMean([1, 2, 3, 4, 100], 0.2);
    assert.equal(t.centre, 3);
    assert.equal(t.df, 2);
    // winsorised: [2, 2, 3, 4, 4], variance 1; se = sqrt(1 · 4 / (3 · 2))
    assert.ok(Math.abs(t.se - Math.sqrt(4 / 6)) < 1e-12);
  });

  it('heavy tails and disturbed rounds (one side 1.5× slower in 10 % of processes) stay under α too', async () => {
    const noise = (rng: Rng) => 0.02 * rng.gaussian() + (rng.next() < 0.1 ? Math.log(1.5) : 0);
    const rate = await falseAlarmRate({ suites: 400, records: 20, noise, seed: 12 });
    assert.ok(rate <= 0.08, `false-alarm rate ${rate}`);
  });
});
