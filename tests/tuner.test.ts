/** The tuner: pruning, strategies (in replay), statistical winners, selection, export (the database: tests/database.test.ts). */
import { SHIPPED_SPACE } from '../tuner/shipped-space.js';
import { singleThreadCpuSession } from './helpers/cpu-session.js';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { Rng } from '../core/rng.js';
import { neoCellProblem, problemKey, problemRecord } from '../harness/problem.js';
import type { BackendSession, KernelVariant } from '../harness/types.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { emptyDb, entryKey, deviceFingerprint } from '../tuner/db.js';
import { dispatchModule } from '../tuner/dispatch.js';
import { evaluationsToNearBest, type RecordedSpace, recordedSearchSpace, replay, strategyQuality } from '../tuner/replay.js';
import { evaluationBudget, MIN_EVALUATIONS, search } from '../tuner/search.js';
import { select } from '../tuner/select.js';
import { buildSpace, complexity, configKey } from '../tuner/space.js';
import { STRATEGIES } from '../tuner/strategies/index.js';
import { selectWinner } from '../tuner/winner.js';
import { repeatedJobs } from '../lib/tune.js';
import { resolveSuite, suiteProblems } from '../suites/suite.js';

const session: BackendSession = singleThreadCpuSession();
const tmp = () => mkdtempSync(join(tmpdir(), 'neotune-tuner-'));
const FIXTURE = SHIPPED_SPACE;

describe('search space', () => {
  it('prunes configurations that violate a constraint, with the reason, before anything runs', () => {
    const created: string[] = [];
    const v: KernelVariant = {
      backend: 'cpu',
      name: 'tiles',
      op: 'neocell',
      role: 'neocell',
      params: () => [
        { name: 'tile', values: [1, 2, 4, 8], doc: '' },
        { name: 'threads', values: [1, 2], doc: '' },
      ],
      defaults: () => ({ tile: 1, threads: 1 }),
      check: (p, params) => (Number(params.tile) > p.W ? `tile=${params.tile} exceeds W=${p.W}` : undefined),
      async create() {
        created.push('x');
        throw new Error('not used');
      },
    };
    const space = buildSpace(neoCellProblem({ N: 1, C: 2, H: 4, W: 4, spec: '2' }), [v], session);
    assert.equal(space.configs.length, 6);
    assert.equal(space.pruned.length, 2);
    assert.ok(space.pruned.every((p) => p.config.params.tile === 8 && /tile=8 exceeds W=4/.test(p.reason)));
    assert.equal(created.length, 0);
  });
});

/** A synthetic recorded space: 3 variants × 2 × 3 × 4 parameters, with structure a model can learn. */
function syntheticSpace() {
  const configs: { config: { variant: string; params: Record<string, number | string> }; median_ms: number | null }[] = [];
  for (const variant of ['a', 'b', 'c'])
    for (const order of ['x', 'y'])
      for (const rows of [1, 2, 4])
        for (const unroll of [1, 2, 3, 4]) {
          const t = (variant === 'b' ? 1 : 2) * (order === 'y' ? 1 : 1.3) * (1 + Math.abs(rows - 2) * 0.2) * (1 + (unroll - 3) ** 2 * 0.05);
          configs.push({ config: { variant, params: { order, rows, unroll } }, median_ms: variant === 'c' && rows === 4 ? null : t });
        }
  const rec: RecordedSpace = { schema: 'neotune-recorded-space', version: 1, description: 'synthetic', problem: 'x', configs };
  return recordedSearchSpace(rec, neoCellProblem({ N: 1, C: 1, H: 2, W: 2, spec: '2' }));
}

describe('strategies in replay mode', () => {
  const { space, times } = syntheticSpace();
  const best = Math.min(...[...times.values()].filter((t): t is number => t !== undefined));
  for (const s of STRATEGIES) {
    it(`${s.name}: deterministic per seed, never repeats a configuration, reaches the best with the whole budget`, async () => {
      const a = await replay(s, space, times, 7);
      const b = await replay(s, space, times, 7);
      assert.deepEqual(a.map((h) => configKey(h.config)), b.map((h) => configKey(h.config)));
      assert.equal(new Set(a.map((h) => configKey(h.config))).size, a.length);
      assert.equal(a.length, space.configs.length);
      assert.ok(Number.isFinite(evaluationsToNearBest(a, best, 0)));
    });
  }
  it('exhaustive follows the space order', async () => {
    const h = await replay(STRATEGIES[0]!, space, times, 1, 5);
    assert.deepEqual(h.map((x) => x.config), space.configs.slice(0, 5));
  });
  it('on the recorded CPU space (fixture, ≥ 200 configurations) TPE needs at most a quarter of it', { skip: !existsSync(FIXTURE) && 'fixture missing' }, async () => {
    const rec = JSON.parse(readFileSync(FIXTURE, 'utf8')) as RecordedSpace;
    const { space: s, times: t } = recordedSearchSpace(rec, neoCellProblem({ N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 }));
    assert.ok(s.configs.length >= 200, `${s.configs.length} configurations`);
    const q = await strategyQuality(STRATEGIES.find((x) => x.name === 'tpe')!, s, t, 20);
    assert.ok(q.medianFraction <= 0.25, JSON.stringify(q));
  });
});

describe('the search loop (one for tuning, replay and the fleet)', () => {
  const { space, times } = syntheticSpace();
  it('one budget rule: a fraction gives at least MIN_EVALUATIONS (all of a smaller space); a count is taken as given; nothing set is the whole space', () => {
    assert.equal(evaluationBudget({ fraction: 0.01 }, 1000), MIN_EVALUATIONS);
    assert.equal(evaluationBudget({ fraction: 0.01 }, 10), 10);
    assert.equal(evaluationBudget({ fraction: 0.5 }, 100), 50);
    assert.equal(evaluationBudget({ evaluations: 3, fraction: 0.5 }, 100), 3);
    assert.equal(evaluationBudget({}, 100), Infinity);
  });
  it('warm starts first (those in the space, not measured yet), resumed observations count in the budget, the strategy sees them', async () => {
    const [a, b, c] = space.configs;
    const outside = { variant: 'nope', params: {} };
    const seen: string[] = [];
    const h = await search(space, (cfg) => (seen.push(configKey(cfg)), times.get(configKey(cfg))), {
      strategy: STRATEGIES[0]!,
      seed: 1,
      evaluations: 5,
      resumed: [{ config: a!, time: 1 }],
      warmStart: [outside, a!, c!],
    });
    assert.equal(h.length, 5);
    assert.deepEqual(seen.length, 4, 'the resumed one is not evaluated again');
    assert.equal(seen[0], configKey(c!), 'the warm start in the space, not measured yet, goes first');
    assert.ok(!seen.includes(configKey(a!)));
    assert.equal(seen[1], configKey(b!), 'then the strategy, skipping what was measured');
  });
  it('a stop signal ends the search before the next evaluation', async () => {
    const stop = new AbortController();
    const h = await search(space, (cfg) => (stop.abort(), times.get(configKey(cfg))), { strategy: STRATEGIES[0]!, seed: 1, evaluations: 10, signal: stop.signal });
    assert.equal(h.length, 1);
  });
  it('a time limit ends the search after the evaluation in progress, but a problem with nothing measured still gets its first', async () => {
    const slow = (cfg: (typeof space.configs)[number]) => new Promise<number | undefined>((resolve) => setTimeout(() => resolve(times.get(configKey(cfg))), 5));
    assert.equal((await search(space, slow, { strategy: STRATEGIES[0]!, seed: 1, evaluations: 10, timeMs: 0 })).length, 1);
    assert.equal((await search(space, slow, { strategy: STRATEGIES[0]!, seed: 1, evaluations: 10, timeMs: 12 })).length < 10, true);
    const [a] = space.configs;
    const resumed = await search(space, slow, { strategy: STRATEGIES[0]!, seed: 1, evaluations: 10, timeMs: 0, resumed: [{ config: a!, time: 1 }] });
    assert.equal(resumed.length, 1, 'what an earlier run measured is enough: nothing new past the limit');
  });
  it("a recorded space is replayed on its recorded problem", { skip: !existsSync(FIXTURE) && 'fixture missing' }, () => {
    const rec = JSON.parse(readFileSync(FIXTURE, 'utf8')) as RecordedSpace;
    const { space: s } = recordedSearchSpace(rec);
    assert.equal(problemKey(s.problem), rec.problem);
    assert.throws(() => recordedSearchSpace({ ...rec, problem: 'neocell 1x1x1x1 1 float32' }), /replay\.problem/);
  });
});

describe('a time limit shared by the problems of a suite', () => {
  it('a problem tuned a job before on the same backend needs no share: NeoNeXt-T has 11 distinct problems in 14', () => {
    const problems = suiteProblems(resolveSuite('neonext-t', {}));
    const jobs = (name: string) => problems.map(({ problem }) => ({ run: { entry: { name } }, problem }));
    const cpu = jobs('cpu');
    const repeat = repeatedJobs(cpu);
    assert.equal(repeat.length, 14);
    assert.equal(repeat.filter((r) => !r).length, 11);
    for (const [i, r] of repeat.entries()) if (r) assert.ok(cpu.slice(0, i).some((j) => problemKey(j.problem) === problemKey(cpu[i]!.problem)));
    // The same problems on another backend are that backend's own.
    assert.equal(repeatedJobs([...jobs('cpu'), ...jobs('webgpu')]).filter((r) => !r).length, 22);
  });
});

describe('winner selection', () => {
  const samples = (median: number, seed: number, n = 30) => {
    const r = new Rng(seed);
    return Array.from({ length: n }, () => median * (1 + 0.05 * Math.abs(r.gaussian())));
  };
  const cfg = (threads: number) => ({ variant: 'v', params: { threads } });
  const cx = (c: { params: Record<string, unknown> }) => complexity([{ name: 'v' }], c as never);
  it('statistical ties go to the simpler candidate, so re-measuring does not flip the winner', () => {
    for (let seed = 0; seed < 20; seed++) {
      const w = selectWinner(
        [
          { key: 'two threads', config: cfg(2), samples_ms: samples(1.0, seed) },
          { key: 'one thread', config: cfg(1), samples_ms: samples(1.0, seed + 100) },
        ],
        cx,
      )!;
      assert.equal(w.key, 'one thread');
      assert.equal(w.confidence.tied.length, 2);
    }
  });
  it('a clearly faster candidate wins even when it is more complex, with its confidence recorded', () => {
    const w = selectWinner(
      [
        { key: 'two threads', config: cfg(2), samples_ms: samples(0.7, 1) },
        { key: 'one thread', config: cfg(1), samples_ms: samples(1.0, 2) },
      ],
      cx,
    )!;
    assert.equal(w.key, 'two threads');
    assert.deepEqual(w.confidence.tied, ['two threads']);
    assert.ok(w.confidence.p_vs_next! < 0.001);
  });
});

describe('selection and export', () => {
  const db = emptyDb();
  const device = session.device;
  const fp = deviceFingerprint(device);
  const tuned = neoCellProblem({ N: 1, C: 96, H: 56, W: 56, spec: '7' });
  db.entries[entryKey(fp, problemRecord(tuned))] = {
    device: fp,
    backend: 'cpu',
    problem: problemRecord(tuned),
    candidates: {},
    winner: { key: 'k', config: { variant: 'sparse-js', params: { order: 'BA' } }, median_ms: 0.5, confidence: { fastest: 'k', tied: ['k'], p_value: 1, ratio_ci: [1, 1], p_vs_next: null } },
  };
  it('a tuned problem gets its winner; an unseen one the nearest tuned winner, flagged untuned', () => {
    const s1 = select(db, tuned, device, cpuBackend.variants);
    assert.deepEqual([s1.variant, s1.tuned, s1.distance], ['sparse-js', true, 0]);
    const s2 = select(db, neoCellProblem({ N: 2, C: 128, H: 28, W: 28, spec: '7' }), device, cpuBackend.variants);
    assert.deepEqual([s2.variant, s2.tuned, s2.params], ['sparse-js', false, { order: 'BA' }]);
    assert.match(s2.basis, /96x56x56/);
    const s3 = select(emptyDb(), tuned, device, cpuBackend.variants);
    assert.equal(s3.basis, 'defaults');
    assert.equal(s3.tuned, false);
  });
  it('the exported dispatch table is a TypeScript module that works without the tuner', async () => {
    const src = dispatchModule(db, fp);
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const file = join(tmp(), 'dispatch.mjs');
    writeFileSync(file, js);
    const m = (await import(pathToFileURL(file).href)) as { selectKernel: (p: object) => { variant: string; tuned: boolean } | undefined };
    assert.deepEqual(m.selectKernel({ N: 1, C: 96, H: 56, W: 56, spec: problemRecord(tuned).spec }), { variant: 'sparse-js', params: { order: 'BA' }, tuned: true, median_ms: 0.5 });
    assert.equal(m.selectKernel({ N: 1, C: 192, H: 28, W: 28, spec: 'other' })!.tuned, false);
    // The kernel string the user writes is the same problem as the stored canonical text.
    assert.equal(m.selectKernel({ N: 1, C: 96, H: 56, W: 56, spec: '7' })!.tuned, true);
    assert.equal(m.selectKernel({ N: 1, C: 96, H: 56, W: 56, spec: ' 7 ' })!.tuned, true);
    assert.equal(m.selectKernel({ N: 1, C: 96, H: 56, W: 56, spec: '7', shift: 1 })!.tuned, false);
  });
});

describe('warm starts', () => {
  it("a problem's search starts from the winners of the operator's other problems on the same device, within its budget", async () => {
    const { tuneProblem, warmStarts } = await import('../tuner/tune.js');
    const jsOnly = cpuBackend.variants.filter((v) => v.name === 'sparse-js' || v.name === 'fused-js');
    const quick = { timeMs: 5, minSamples: 5, warmupMs: 2 };
    const db = emptyDb();
    const first = neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '3', shift: 1 });
    const second = neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: '3', shift: 1 });
    assert.deepEqual(warmStarts(db, session, second), [], 'nothing tuned yet: no warm start');
    const a = await tuneProblem(db, first, jsOnly, session, { strategy: STRATEGIES.find((s) => s.name === 'random')!, budget: { evaluations: 3 }, seed: 1, measure: quick });
    assert.ok(a.winner);
    const starts = warmStarts(db, session, second);
    assert.deepEqual(starts.map(configKey), [configKey(a.winner.config)]);
    assert.deepEqual(warmStarts(db, session, first), [], "a problem's own winner is not its warm start");
    // One evaluation: the warm start is the configuration measured, whatever the seed would have drawn.
    for (const seed of [1, 2, 3]) {
      const fresh = emptyDb();
      Object.assign(fresh.entries, db.entries);
      const b = await tuneProblem(fresh, second, jsOnly, session, { strategy: STRATEGIES.find((s) => s.name === 'random')!, budget: { evaluations: 1 }, seed, measure: quick, warmStart: starts });
      assert.equal(b.evaluated, 1);
      assert.deepEqual(Object.values(b.entry.candidates).map((c) => configKey(c.config)), [configKey(a.winner.config)]);
    }
  });
});
