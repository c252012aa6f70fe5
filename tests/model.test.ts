/** The tuner that learns: forest, cost model, posterior, model-based strategy, hub scoring, zero-evaluation selection. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { dwconvProblem, neoCellProblem, problemRecord } from '../harness/problem.js';
import type { Problem } from '../harness/types.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { hubText, retimeHubSuspects } from '../lib/hub.js';
import { backendEntry } from '../kernels/registry.js';
import { deviceFingerprint, entryKey } from '../tuner/db-model.js';
import { readHub, replayTrainingHubs, SHIPPED_HUB, shippedHubPaths } from '../tuner/shipped-space.js';
import { emptyDb, snapshotText } from '../tuner/db.js';
import { type HubFile, hubSpaces, hubSuspects } from '../tuner/hub.js';
import { chosenRegret, chosenWinner, evaluationsToWithin, leaveOneOutPrior, methodologyScore, scoreHub } from '../tuner/hub-score.js';
import { problemId, trainCostModel } from '../model/cost-model.js';
import { trainForest } from '../model/forest.js';
import { choleskySolver } from '../model/cholesky.js';
import { type PortableModel, predictPortable } from '../model/portable.js';
import { createNeoCell, type DispatchTable } from '../runtime/index.js';
import { problemPosterior, type RelatedObservation } from '../tuner/model/posterior.js';
import { RELATED, relatedObservations } from '../tuner/model/related.js';
import type { Strategy } from '../tuner/strategies/strategy.js';
import { modelOfEverything, sessionDeviceFeatures } from '../tuner/model/training.js';
import { search } from '../tuner/search.js';
import { select } from '../tuner/select.js';
import { buildSpace, type Config, configKey } from '../tuner/space.js';
import { entryTieOrder, entryWinner, entryWinnerAsTuned, tuneProblem } from '../tuner/tune.js';
import { STRATEGIES, strategyByName } from '../tuner/strategies/index.js';
import { effortSettings } from '../scripts/options.js';
import { singleThreadCpuSession } from './helpers/cpu-session.js';

const session = singleThreadCpuSession();
const cli = (args: string[]) => spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/neotune.js', import.meta.url)), ...args], { encoding: 'utf8', timeout: 120_000 });
const DEVICE = { fingerprint: 'cpu | test machine | threads=2', description: 'test machine', backend: 'cpu', threads: 2 } as const;

/**
 * A synthetic time with the structure real spaces have: a problem's size sets its level, two
 * threads pay off on big problems only, the fused variant is best on small blocks and the tiled
 * one on large planes, relaxed multiply-adds help a little, and each configuration carries its
 * own fixed quirk (what no model can know before measuring it).
 */
function syntheticMs(p: Problem, c: Config): number {
  const size = p.N * p.C * p.H * p.W;
  const threads = Number(c.params.threads ?? 1);
  let t = size * 2e-7 * (threads === 2 ? (size > 60_000 ? 0.55 : 1.3) : 1);
  const variant = { 'fused-wasm': p.H <= 14 ? 0.7 : 1, 'tiled-wasm': p.H >= 28 ? 0.65 : 1.2, 'sparse-wasm': 0.9 }[c.variant] ?? 2.5;
  t *= variant * (c.params.madd === 'relaxed' ? 0.92 : 1);
  const quirk = new Rng([...configKey(c)].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7)).uniform(0.97, 1.03);
  return t * quirk;
}

const PROBLEMS: Problem[] = [
  neoCellProblem({ N: 1, C: 32, H: 28, W: 28, spec: '4+7', shift: 1 }),
  neoCellProblem({ N: 1, C: 64, H: 14, W: 14, spec: '7' }),
  neoCellProblem({ N: 1, C: 128, H: 28, W: 28, spec: '7', shift: 1 }),
  neoCellProblem({ N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 }),
  neoCellProblem({ N: 1, C: 256, H: 14, W: 14, spec: '7' }),
  neoCellProblem({ N: 2, C: 64, H: 28, W: 28, spec: '5' }),
];

/** A hub of the synthetic spaces (the real CPU variants' spaces, one configuration in 60 "failed"). */
function syntheticHub(problems = PROBLEMS): HubFile {
  const configs: Config[] = [];
  const index = new Map<string, number>();
  const indexOf = (c: Config) => index.get(configKey(c)) ?? (index.set(configKey(c), configs.push(c) - 1), configs.length - 1);
  return {
    schema: 'neotune-hub',
    version: 1,
    device: DEVICE,
    recorded: '2026-12-06',
    command: 'synthetic',
    configs,
    problems: problems.map((p, k) => {
      const space = buildSpace(p, cpuBackend.variants, session).configs;
      // Some JavaScript configurations "fail", as a compile error or a mismatch would.
      const times = space.map((c, i) => [indexOf(c), c.variant.endsWith('-js') && (i + k) % 3 === 0 ? null : Number(syntheticMs(p, c).toPrecision(5)), 0.01] as const);
      const best = times.filter((t) => t[1] !== null).sort((a, b) => a[1]! - b[1]!);
      return { name: `p${k}`, problem: problemRecord(p), times, leaders: best.slice(0, 3).map(([i, ms]) => [i, ms!, ms! / best[0]![1]!] as const) };
    }),
  };
}

describe('random forest', () => {
  it('learns a function of its columns and is the same for the same seed', () => {
    const rng = new Rng(3);
    const rows = Array.from({ length: 400 }, () => Float64Array.from([rng.int(0, 3), rng.int(0, 1), rng.uniform(0, 1)]));
    const y = rows.map((r) => r[0]! * 2 + (r[1] === 1 ? 5 : 0));
    const a = trainForest(rows, y, { seed: 5, trees: 16 });
    const b = trainForest(rows, y, { seed: 5, trees: 16 });
    for (const r of rows.slice(0, 20)) {
      assert.deepEqual(a.predict(r), b.predict(r));
      assert.ok(Math.abs(a.predict(r).mean - (r[0]! * 2 + (r[1] === 1 ? 5 : 0))) < 0.5);
    }
    const c = trainForest(rows, y, { seed: 6, trees: 16 });
    assert.ok(rows.some((r) => c.predict(r).sd !== a.predict(r).sd), 'another seed grows other trees');
  });
});

describe('cost model', () => {
  const hub = syntheticHub();
  const spaces = hubSpaces(hub);

  it('is deterministic for a seed and ranks a problem it never saw', () => {
    const held = spaces[2]!;
    const rows = spaces.filter((s) => s !== held).flatMap((s) => s.configs.flatMap((config) => (s.truth.get(configKey(config)) ? [{ problem: s.problem, config, device: DEVICE, median_ms: s.truth.get(configKey(config))! }] : [])));
    const m1 = trainCostModel(rows, { seed: 2 })!;
    const m2 = trainCostModel(rows, { seed: 2 })!;
    const p1 = m1.predict(held.problem, held.configs, DEVICE);
    assert.deepEqual(p1, m2.predict(held.problem, held.configs, DEVICE));
    assert.equal(m1.problems, spaces.length - 1);
    // The predicted-fastest configuration of the unseen problem is close to its best.
    const zero = held.configs[p1.reduce((b, x, i) => (x.mean < p1[b]!.mean ? i : b), 0)]!;
    assert.ok(held.truth.get(configKey(zero))! <= held.best * 1.25, `${configKey(zero)}: ${held.truth.get(configKey(zero))} vs best ${held.best}`);
  });

  it('leave-one-out: the prior of a held-out problem does not depend on its own times', () => {
    const held = spaces[2]!;
    const altered: HubFile = { ...hub, problems: hub.problems.map((p) => (p.name === held.name ? { ...p, times: p.times.map(([i, ms, s]) => [i, ms === null ? null : ms * (1 + (i % 7)), s] as const), leaders: [] } : p)) };
    const a = leaveOneOutPrior(hub, spaces, held)!;
    const b = leaveOneOutPrior(altered, hubSpaces(altered), hubSpaces(altered)[2]!)!;
    assert.deepEqual([...a], [...b]);
    // Any other problem's times do change it.
    const other: HubFile = { ...hub, problems: hub.problems.map((p, k) => (k === 0 ? { ...p, times: p.times.map(([i, ms, s]) => [i, ms === null ? null : ms * (1 + (i % 5)), s] as const) } : p)) };
    const c = leaveOneOutPrior(other, hubSpaces(other), hubSpaces(other)[2]!)!;
    assert.notDeepEqual([...a].map(([, v]) => v.mean), [...c].map(([, v]) => v.mean));
  });

  it("a device's own measurements of a problem replace other devices' in its predictions; a device with none learns from every device", () => {
    const OTHER = { ...DEVICE, fingerprint: 'cpu | other machine | threads=2', description: 'other machine', peak_gflops: 50 };
    const NEW = { backend: 'cpu', threads: 2 };
    // This device measured the first four problems, the other one all six; `reversed`: the other
    // device's times of the first four in the reverse order of its configurations (the same
    // medians, another ranking).
    const rows = (reversed: boolean) =>
      spaces.flatMap((s, k) => {
        const timed = s.configs.filter((c) => s.truth.get(configKey(c)) !== undefined);
        const times = timed.map((c) => s.truth.get(configKey(c))!);
        const theirs = reversed && k < 4 ? times.map((_, i) => times[times.length - 1 - i]!) : times;
        return [...(k < 4 ? timed.map((config, i) => ({ problem: s.problem, config, device: DEVICE, median_ms: times[i]! })) : []), ...timed.map((config, i) => ({ problem: s.problem, config, device: OTHER, median_ms: theirs[i]! }))];
      });
    const a = trainCostModel(rows(false), { trees: 8, seed: 2 })!;
    const b = trainCostModel(rows(true), { trees: 8, seed: 2 })!;
    const meanSd = (ps: { mean: number; sd: number }[]) => ps.map((p) => [p.mean, p.sd]);
    for (const k of [1, 5]) {
      const s = spaces[k]!;
      assert.deepEqual(meanSd(a.predict(s.problem, s.configs, DEVICE)), meanSd(b.predict(s.problem, s.configs, DEVICE)), `problem ${k}: the other device's times of problems this one measured are not used`);
      assert.notDeepEqual(meanSd(a.predict(s.problem, s.configs, NEW)), meanSd(b.predict(s.problem, s.configs, NEW)), `problem ${k}: a device with no measurements of its own learns from them`);
    }
    assert.notDeepEqual(meanSd(a.predict(spaces[1]!.problem, spaces[1]!.configs, OTHER)), meanSd(b.predict(spaces[1]!.problem, spaces[1]!.configs, OTHER)), 'the other device learns from its own');
  });
});

describe('posterior', () => {
  it('learns the problem-wide offset from one measurement and moves near neighbours with a surprise', () => {
    const configs: Config[] = [
      { variant: 'a', params: { x: 1, y: 1 } },
      { variant: 'a', params: { x: 1, y: 2 } },
      { variant: 'b', params: { z: 1 } },
    ];
    const prior = configs.map(() => ({ mean: 0, sd: 0.2 }));
    const post = problemPosterior(configs, prior, [{ index: 0, logMs: 1 }]);
    // Every configuration moves up (offset), the near neighbour more than the other variant.
    assert.ok(post[1]!.mean > post[2]!.mean && post[2]!.mean > 0.3, JSON.stringify(post));
    assert.ok(post[0]!.sd < post[1]!.sd && post[1]!.sd < post[2]!.sd);
  });

  it('solves as a direct computation does (A·x = b; bᵀA⁻¹b per column; ln det A); a matrix that is not positive definite gives NaN, never a number', () => {
    const a = [
      [4, 2, 0.4],
      [2, 3, 0.5],
      [0.4, 0.5, 2],
    ];
    const b = [1, 2, 3];
    const solver = choleskySolver(a);
    const x = solver.solve(b);
    a.forEach((row, r) => assert.ok(Math.abs(row.reduce((t, v, c) => t + v * x[c]!, 0) - b[r]!) < 1e-12));
    // Two columns: b and the second unit vector (whose form is (A⁻¹)₂₂).
    const forms = solver.quadraticForms([
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
    assert.ok(Math.abs(forms[0]! - b.reduce((t, v, i) => t + v * x[i]!, 0)) < 1e-12);
    assert.ok(Math.abs(forms[1]! - solver.solve([0, 1, 0])[1]!) < 1e-12);
    assert.ok(Math.abs(solver.logDet() - Math.log(15.32)) < 1e-12);
    const indefinite = choleskySolver([
      [1, 2],
      [2, 1],
    ]);
    assert.ok(indefinite.solve([1, 1]).every(Number.isNaN) && Number.isNaN(indefinite.logDet()) && indefinite.quadraticForms([[1], [1]]).every(Number.isNaN));
  });
});

describe('what other problems on the device teach', () => {
  const configs: Config[] = [
    { variant: 'a', params: { x: 1 } },
    { variant: 'a', params: { x: 2 } },
    { variant: 'b', params: { z: 1 } },
  ];
  const prior = configs.map(() => ({ mean: 0, sd: 0.2 }));
  const related = (group: string, logMs: [number, number]): RelatedObservation[] => [
    { group, config: configs[0]!, prior: { mean: 0, sd: 0.2 }, logMs: logMs[0] },
    { group, config: configs[2]!, prior: { mean: 0, sd: 0.2 }, logMs: logMs[1] },
  ];

  it('a configuration faster than predicted on another problem ranks first here before any measurement; that problem’s level alone moves nothing', () => {
    const post = problemPosterior(configs, prior, [], { deviceSd: 0.1 }, related('p2', [-0.5, 0]));
    assert.ok(post[0]!.mean < post[1]!.mean && post[1]!.mean < post[2]!.mean, JSON.stringify(post));
    // Both configurations slower by the same amount there: that problem's offset, not the device.
    const level = problemPosterior(configs, prior, [], { deviceSd: 0.1 }, related('p3', [1, 1]));
    assert.ok(level.every((p) => Math.abs(p.mean) < 0.1), JSON.stringify(level));
    // Without a device term, other problems teach nothing.
    assert.deepEqual(
      problemPosterior(configs, prior, [], { deviceSd: 0 }, related('p2', [-0.5, 0])).map((p) => p.mean),
      [0, 0, 0],
    );
  });

  it('learns the device term’s scale from the other problems: a miss repeated from problem to problem is the device’s, misses that disagree are the problems’ own', () => {
    const repeated = [...related('p2', [-0.4, 0]), ...related('p3', [-0.3, 0.1]), ...related('p4', [0.5, 0.9])];
    const learned = problemPosterior(configs, prior, [], {}, repeated);
    assert.ok(learned[0]!.mean < learned[2]!.mean - 0.1, JSON.stringify(learned));
    const disagree = [...related('p2', [-0.4, 0]), ...related('p3', [0.4, 0]), ...related('p4', [0, 0])];
    assert.deepEqual(
      problemPosterior(configs, prior, [], {}, disagree).map((p) => p.mean),
      [0, 0, 0],
    );
    // One other problem cannot tell the device from itself.
    assert.deepEqual(
      problemPosterior(configs, prior, [], {}, related('p2', [-0.5, 0])).map((p) => p.mean),
      [0, 0, 0],
    );
  });

  it('a search asks once per proposal with the same other problems: the device term it learned then is the one it would learn again', () => {
    const repeated = [...related('p2', [-0.4, 0]), ...related('p3', [-0.3, 0.1]), ...related('p4', [0.5, 0.9])];
    for (const observed of [[], [{ index: 1, logMs: 0.2 }], [{ index: 1, logMs: 0.2 }, { index: 2, logMs: -0.1 }]]) {
      const remembered = problemPosterior(configs, prior, observed, {}, repeated);
      assert.deepEqual(remembered, problemPosterior(configs, prior, observed, {}, [...repeated]));
    }
    // Other options learn their own.
    assert.notDeepEqual(problemPosterior(configs, prior, [], { noiseSd: 0.3 }, repeated), problemPosterior(configs, prior, [], {}, repeated));
    assert.deepEqual(problemPosterior(configs, prior, [], { noiseSd: 0.3 }, repeated), problemPosterior(configs, prior, [], { noiseSd: 0.3 }, [...repeated]));
  });

  it('takes the nearest problems of the same operator, never the problem itself, never one measured once; their predictions are the model’s on this device', () => {
    const model = modelOfEverything([syntheticHub()], undefined)!;
    const spaces = hubSpaces(syntheticHub());
    const measured = (k: number, n: number) => ({ problem: spaces[k]!.problem, measured: spaces[k]!.configs.slice(0, n).map((config) => ({ config, ms: spaces[k]!.truth.get(configKey(config)) ?? 1 })) });
    const dw = { problem: problemRecord(dwconvProblem({ N: 1, C: 64, H: 14, W: 14, K: 7 })), measured: measured(1, 3).measured };
    const others = [measured(1, 3), measured(2, 1), ...[0, 3, 4, 5].map((k) => measured(k, 30)), dw];
    const r = relatedObservations(model, DEVICE, spaces[1]!.problem, others);
    const groups = [...new Set(r.map((x) => x.group))];
    assert.equal(groups.length, 4, 'p1 itself, p2 (measured once) and the depthwise problem are left out');
    assert.ok(!groups.includes(problemId(spaces[1]!.problem)) && !groups.includes(problemId(spaces[2]!.problem)));
    assert.ok(r.length === 4 * RELATED.perProblem);
    // Each problem's fastest measurements, with the model's prediction for them.
    const first = r.filter((x) => x.group === groups[0]);
    assert.ok(first.every((x, i) => i === 0 || x.logMs >= first[i - 1]!.logMs));
    const p = model.predict(others.find((o) => problemId(o.problem) === groups[0])!.problem, first.map((x) => x.config), DEVICE);
    assert.deepEqual(first.map((x) => x.prior.mean), p.map((x) => x.mean));
  });

  it('a tune learns from what the database holds of this device: the second problem’s search sees the first one’s measurements', async () => {
    const model = modelOfEverything([syntheticHub()], undefined)!;
    const seen: number[] = [];
    const spy: Strategy = { name: 'model', next: (space, h, rng, ctx) => (seen.push(ctx?.related?.length ?? -1), strategyByName('model').next(space, h, rng, ctx)) };
    const db = emptyDb();
    const jsOnly = cpuBackend.variants.filter((v) => v.name === 'dense-js' || v.name === 'fused-js');
    const opts = { strategy: spy, budget: { evaluations: 3 }, seed: 1, measure: { timeMs: 5, minSamples: 5, warmupMs: 2 }, revalidate: false, model: { model, device: sessionDeviceFeatures(session.device, []) } };
    const first = await tuneProblem(db, neoCellProblem({ N: 1, C: 8, H: 14, W: 14, spec: '7' }), jsOnly, session, opts);
    assert.deepEqual(seen, [0, 0, 0]);
    seen.length = 0;
    await tuneProblem(db, neoCellProblem({ N: 1, C: 16, H: 14, W: 14, spec: '7' }), jsOnly, session, opts);
    const verified = Object.values(first.entry.candidates).filter((c) => c.state === 'verified').length;
    assert.ok(verified >= 2);
    assert.deepEqual(seen, [verified, verified, verified]);
  });
});

describe('model-based strategy', () => {
  it('quick effort gives it 10 evaluations per problem and balanced 30; the other strategies keep their share of the space', () => {
    assert.deepEqual(effortSettings({ effort: 'quick' }, 'model').budget, { evaluations: 10 });
    assert.deepEqual(effortSettings({ effort: 'balanced' }, 'model').budget, { evaluations: 30 });
    assert.deepEqual(effortSettings({ effort: 'full' }, 'model').budget, {});
    assert.deepEqual(effortSettings({ effort: 'quick' }, 'tpe').budget, { fraction: 0.1 });
    assert.deepEqual(effortSettings({ effort: 'quick', budget: { evaluations: 4 } }, 'model').budget, { evaluations: 4 });
  });

  it('without a prior still searches every configuration once', async () => {
    assert.ok(STRATEGIES.some((s) => s.name === 'model'));
    const configs = buildSpace(PROBLEMS[1]!, cpuBackend.variants, session).configs;
    const space = { problem: PROBLEMS[1]!, configs, pruned: [], variants: [] };
    const h = await search(space, (c) => syntheticMs(PROBLEMS[1]!, c), { strategy: strategyByName('model'), seed: 1, evaluations: configs.length });
    assert.equal(new Set(h.map((x) => configKey(x.config))).size, configs.length);
  });

  it('on the synthetic hub, leave one problem out: within 5 % of the best in a few evaluations', async () => {
    const r = await scoreHub(syntheticHub(), { strategies: [strategyByName('model')], seeds: 2, maxEvaluations: 40 });
    const model = r.summary.find((s) => s.strategy === 'model')!;
    assert.equal(model.problems, PROBLEMS.length);
    assert.ok(model.to5.median <= 3 && model.to5.within10 >= 0.8, JSON.stringify(model));
    assert.ok(model.zero!.median <= 1.25);
    assert.ok(model.regret.median <= 1.05);
  });
});

describe('hub scoring figures', () => {
  const spaces = hubSpaces(syntheticHub());
  const s = spaces[0]!;
  const byTruth = [...s.configs].filter((c) => s.truth.get(configKey(c)) !== undefined).sort((a, b) => s.truth.get(configKey(a))! - s.truth.get(configKey(b))!);
  const obs = (cs: Config[]) => cs.map((config) => ({ config, time: s.measured.get(configKey(config)) }));

  it('counts evaluations to within a tolerance, the methodology score and the chosen winner’s regret', () => {
    const worst = byTruth.slice(-5);
    const h = obs([...worst, byTruth[0]!]);
    assert.equal(evaluationsToWithin(h, s, 0.05), 6);
    assert.equal(evaluationsToWithin(obs(worst), s, 0.05), Infinity);
    assert.equal(methodologyScore(obs([byTruth[0]!]), s, 4), 1);
    assert.ok(methodologyScore(obs(worst), s, 4) === 0);
    assert.equal(chosenRegret(obs([byTruth[0]!, ...worst]), s), 1);
  });

  it('the chosen winner names the finalists within 3 % of the best of them as tied, and the tie order picks among them', () => {
    const near = byTruth.find((c) => s.truth.get(configKey(c))! > s.best && s.truth.get(configKey(c))! <= 1.03 * s.best);
    const far = byTruth.find((c) => s.truth.get(configKey(c))! > 1.03 * s.best && s.truth.get(configKey(c))! < 1.2 * s.best);
    assert.ok(near && far, 'the synthetic space has a configuration within 3 % and one 3-20 % off the best');
    const w = chosenWinner(obs([far, near, byTruth[0]!]), s)!;
    assert.equal(w.key, configKey(byTruth[0]!));
    assert.deepEqual(new Set(w.tied), new Set([configKey(byTruth[0]!), configKey(near)]));
    // Among the tied, the tune's tie order decides (here: the one it puts first is the slower),
    // and the regret is that one's; a configuration outside the tie never wins on the order.
    const nearFirst = (c: Config) => [configKey(c) === configKey(near) ? 0 : configKey(c) === configKey(far) ? -1 : 1];
    const ordered = chosenWinner(obs([far, near, byTruth[0]!]), s, 10, nearFirst)!;
    assert.equal(ordered.key, configKey(near));
    assert.deepEqual(new Set(ordered.tied), new Set(w.tied));
    assert.equal(chosenRegret(obs([far, near, byTruth[0]!]), s, 10, nearFirst), s.truth.get(configKey(near))! / s.best);
  });

  it('with timing noise, seeds measure differently and their agreement is scored; the same seed replays the same; no noise reads as the recorded times', async () => {
    const hub = syntheticHub(PROBLEMS.slice(0, 3));
    const o = { strategies: [strategyByName('model')], seeds: 4, maxEvaluations: 10 };
    const quiet = await scoreHub(hub, o);
    assert.equal(quiet.summary[0]!.agreement, undefined, 'agreement only with noise');
    assert.deepEqual(await scoreHub(hub, { ...o, noise: 0 }), quiet);
    const noisy = await scoreHub(hub, { ...o, noise: 0.3 });
    assert.deepEqual(await scoreHub(hub, { ...o, noise: 0.3 }), noisy, 'deterministic for its seeds');
    for (const p of noisy.problems) assert.ok(p.agreement! >= 0 && p.agreement! <= 1, String(p.agreement));
    const a = noisy.summary[0]!.agreement!;
    assert.ok(Math.abs(a - noisy.problems.reduce((x, p) => x + p.agreement!, 0) / noisy.problems.length) < 1e-12);
    assert.notDeepEqual(noisy.problems.map((p) => p.to5), quiet.problems.map((p) => p.to5), 'noise of 30 % changes what the searches find');
  });
});

describe('hub file', () => {
  it('round-trips through its text and refuses a damaged index naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-hub-'));
    const hub = syntheticHub(PROBLEMS.slice(0, 2));
    writeFileSync(join(dir, 'hub.json'), hubText(hub));
    assert.deepEqual(JSON.parse(JSON.stringify(readHub(join(dir, 'hub.json')))), JSON.parse(JSON.stringify(hub)));
    const bad = { ...hub, problems: [{ ...hub.problems[0]!, times: [[99999, 1, 0]] }] };
    assert.throws(() => hubSpaces(bad as unknown as HubFile), (e: unknown) => e instanceof InputError && e.field === 'hub.problems[0].times[0]');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...hub, version: 2 }));
    assert.throws(() => readHub(join(dir, 'bad.json')), (e: unknown) => e instanceof InputError && /version/.test(e.message));
  });

  it("puts the leaders' side-by-side ratios on the scale of the search medians", () => {
    const hub = syntheticHub(PROBLEMS.slice(0, 1));
    const p = hub.problems[0]!;
    const ranked = p.times.filter((t) => t[1] !== null).sort((a, b) => a[1]! - b[1]!);
    const [a, b, c] = ranked as [(typeof ranked)[0], (typeof ranked)[0], (typeof ranked)[0]];
    // The side-by-side rounds ran in a slow phase (every leader 20 % over its search median), and found b 3 % faster than a.
    const slow: HubFile = { ...hub, problems: [{ ...p, leaders: [[b[0], b[1]! * 1.2, 1], [a[0], a[1]! * 1.2, 1.03]] }] };
    const s = hubSpaces(slow)[0]!;
    const key = (i: number) => configKey(hub.configs[i]!);
    const scale = (a[1]! / 1.03 + b[1]! / 1) / 2;
    assert.ok(Math.abs(s.truth.get(key(b[0]))! / scale - 1) < 1e-4);
    assert.ok(Math.abs(s.truth.get(key(a[0]))! / (scale * 1.03) - 1) < 1e-4);
    assert.equal(s.bestKey, key(b[0]));
    assert.equal(s.truth.get(key(c[0])), c[1], 'a configuration that is not a leader keeps its search median');
  });
});

describe('hub suspects', () => {
  // One problem whose 2-thread configurations run at 0.55× their 1-thread twins' (PROBLEMS[2]).
  const hub = syntheticHub([PROBLEMS[2]!]);
  const p = hub.problems[0]!;
  const at = (key: string) => p.times.findIndex(([i]) => configKey(hub.configs[i]!) === key);
  const leader = new Set(p.leaders.map(([i]) => i));
  const pick = (f: (c: Config) => boolean) => p.times.map(([i]) => hub.configs[i]!).find((c) => f(c) && !leader.has(hub.configs.indexOf(c)))!;
  const twoThreads = pick((c) => c.params.threads === 2 && c.params.madd === 'plain');
  const twin = { ...twoThreads, params: { ...twoThreads.params, threads: 1 } };
  const relaxed = pick((c) => c.params.madd === 'relaxed' && c.params.threads === 1);
  const plain = { ...relaxed, params: { ...relaxed.params, madd: 'plain' } };
  const recorded = (edits: [Config, number][]): HubFile => {
    const times = p.times.map((t) => [...t] as [number, number | null, number | null]);
    for (const [c, ms] of edits) times[at(configKey(c))]![1] = ms;
    return { ...hub, problems: [{ ...p, times }] };
  };
  const ms = (c: Config) => p.times[at(configKey(c))]![1]!;
  // The 2-thread configuration recorded at its 1-thread twin's time; the relaxed one 30 % over its plain twin.
  const disturbed = recorded([[twoThreads, ms(twin)], [relaxed, ms(plain) * 1.3]]);

  it('are the times the rest of the space contradicts: a 2-thread configuration at its 1-thread twin\'s, a relaxed multiply-add over its plain twin\'s', () => {
    assert.deepEqual(hubSuspects(hub), [], 'the undisturbed space has none');
    const found = hubSuspects(disturbed);
    assert.deepEqual(found.map((x) => configKey(hub.configs[x.config]!)).sort(), [configKey(twoThreads), configKey(relaxed)].sort());
    assert.match(found.find((x) => configKey(hub.configs[x.config]!) === configKey(twoThreads))!.reason, /2 threads at 1\.00× its 1-thread twin's time \(typical here: 0\.5\d×\)/);
    assert.match(found.find((x) => configKey(hub.configs[x.config]!) === configKey(relaxed))!.reason, /relaxed multiply-add at 1\.30× its plain twin's time/);
    // Where two threads do not pay off (a small problem), a 2-thread time at the 1-thread one's is no contradiction.
    const small = syntheticHub([PROBLEMS[0]!]);
    assert.ok(hubSuspects(small).every((x) => !/threads/.test(x.reason)));
  });

  it('re-timed side by side, keep the faster of their two times, as the truth and as what a tune measures', () => {
    const s0 = hubSpaces(disturbed)[0]!;
    const ref = hub.configs.indexOf(hub.configs.find((c) => configKey(c) === s0.bestKey)!);
    const faster = ms(twoThreads) / s0.best; // re-timed: back at its undisturbed time
    const retimed: HubFile = { ...disturbed, problems: [{ ...disturbed.problems[0]!, retimed: [[hub.configs.indexOf(twoThreads), faster, ref], [hub.configs.indexOf(relaxed), 5, ref]] }] };
    const s = hubSpaces(retimed)[0]!;
    assert.ok(Math.abs(s.truth.get(configKey(twoThreads))! / ms(twoThreads) - 1) < 1e-4);
    assert.equal(s.measured.get(configKey(twoThreads)), s.truth.get(configKey(twoThreads)));
    assert.equal(s.truth.get(configKey(relaxed)), ms(plain) * 1.3, 'a re-timing slower than the record (itself disturbed) changes nothing');
    assert.deepEqual(hubSuspects(retimed), [], 're-timed configurations are no longer suspects');
    const dir = mkdtempSync(join(tmpdir(), 'neotune-hub-'));
    writeFileSync(join(dir, 'hub.json'), hubText(retimed));
    assert.deepEqual(JSON.parse(JSON.stringify(readHub(join(dir, 'hub.json')))), JSON.parse(JSON.stringify(retimed)));
    const bad = { ...retimed, problems: [{ ...retimed.problems[0]!, retimed: [[0, -1, 0]] }] };
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(bad));
    assert.throws(() => readHub(join(dir, 'bad.json')), (e: unknown) => e instanceof InputError && /retimed/.test(e.message));
    const badIndex = { ...retimed, problems: [{ ...retimed.problems[0]!, retimed: [[0, 1, 99999]] }] };
    assert.throws(() => hubSpaces(badIndex as unknown as HubFile), (e: unknown) => e instanceof InputError && e.field === 'hub.problems[0].retimed[0]');
  });

  it('re-timing (lib) times a suspect again beside its problem\'s fastest, stores its ratio and writes the hub; a second check finds none', async () => {
    const problem = neoCellProblem({ N: 1, C: 32, H: 14, W: 14, spec: '7' });
    const space = buildSpace(problem, cpuBackend.variants, session).configs.filter((c) => c.variant === 'fused-wasm' && Number(c.params.threads ?? 1) === 1);
    const relaxedOne = space.filter((c) => c.params.madd === 'relaxed')[3];
    assert.ok(relaxedOne, 'the CPU space has relaxed multiply-add configurations');
    // Recorded times with the structure of a real space; the 4th relaxed configuration recorded 30 % over its plain twin.
    const ms = (c: Config) => Number((0.01 * syntheticMs(problem, c) / syntheticMs(problem, space[0]!)).toPrecision(5));
    const twinKey = configKey({ ...relaxedOne, params: { ...relaxedOne.params, madd: 'plain' } });
    const times = space.map((c, i) => [i, configKey(c) === configKey(relaxedOne) ? ms(space.find((x) => configKey(x) === twinKey)!) * 1.3 : ms(c), 0.01] as const);
    const ranked = [...times].sort((a, b) => a[1] - b[1]);
    const hub: HubFile = {
      schema: 'neotune-hub', version: 1, recorded: '2026-12-06', command: 'test',
      device: { fingerprint: deviceFingerprint(session.device), description: session.device.description, backend: 'cpu', threads: 1 },
      configs: space,
      problems: [{ name: 'tiny', problem: problemRecord(problem), times, leaders: ranked.slice(0, 2).map(([i, t]) => [i, t, t / ranked[0]![1]] as const) }],
    };
    assert.deepEqual(hubSuspects(hub).map((x) => x.config), [space.indexOf(relaxedOne)]);
    const out = join(mkdtempSync(join(tmpdir(), 'neotune-hub-retime-')), 'hub.json');
    const r = await retimeHubSuspects(hub, { entry: backendEntry('cpu'), backend: cpuBackend, session }, { out, command: 'neotune hub check --retime', log: () => {} });
    assert.deepEqual([r.suspects, r.retimed], [1, 1]);
    const [row] = r.hub.problems[0]!.retimed!;
    assert.equal(row![0], space.indexOf(relaxedOne));
    assert.ok(row![1] > 0);
    assert.equal(row![2], ranked[0]![0], 'timed against the problem\'s fastest configuration');
    assert.deepEqual(hubSuspects(r.hub), []);
    assert.equal(readFileSync(out, 'utf8'), hubText(r.hub));
    assert.equal(r.hub.command, 'test; neotune hub check --retime');
  });

  it('hub check lists them; --retime refuses a hub of another device and --out without --retime (exit 2, nothing written)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-hub-check-'));
    const file = join(dir, 'hub.json');
    writeFileSync(file, hubText(disturbed));
    const r = cli(['hub', 'check', file, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { suspects: { problem: string; config: string; reason: string }[] };
    assert.deepEqual(out.suspects.map((x) => x.config).sort(), [configKey(twoThreads), configKey(relaxed)].sort());
    assert.match(cli(['hub', 'check', file]).stdout, /2 suspects in 1 of 1 problems/);
    const stray = cli(['hub', 'check', file, '-o', join(dir, 'out.json')]);
    assert.equal(stray.status, 2);
    assert.match(stray.stderr, /--retime/);
    const other = cli(['hub', 'check', file, '--retime', '-q']);
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /file.*recorded on this device/);
    assert.equal(readFileSync(file, 'utf8'), hubText(disturbed));
  });
});

describe('the commands', () => {
  it("replay --hub trains the model as tune does: on the shipped hub, with the other shipped hubs unless --with says otherwise ('none': this hub alone)", () => {
    const others = shippedHubPaths().filter((f) => f !== SHIPPED_HUB);
    assert.ok(others.length >= 1 && others.every((f) => f.endsWith('.json')), others.join());
    assert.deepEqual(replayTrainingHubs(true, undefined), others);
    assert.deepEqual(replayTrainingHubs(true, 'none'), []);
    assert.deepEqual(replayTrainingHubs(false, undefined), [], 'a hub of your own: no other unless named');
    assert.deepEqual(replayTrainingHubs(false, 'a.json,,b.json'), [resolve('a.json'), resolve('b.json')]);
  });


  it('replay --hub scores strategies leave-one-problem-out from a hub file; a missing or wrong file is exit 2 naming --hub', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-hub-cli-'));
    writeFileSync(join(dir, 'hub.json'), hubText(syntheticHub(PROBLEMS.slice(0, 4))));
    const r = cli(['replay', '--hub', join(dir, 'hub.json'), '--strategies', 'model', '--seeds', '1', '--max-evaluations', '20', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { problems: { problem: string }[]; summary: { strategy: string; problems: number }[] };
    assert.deepEqual(out.summary.map((s) => [s.strategy, s.problems]), [['model', 4]]);
    const missing = cli(['replay', '--hub', join(dir, 'nope.json')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /invalid hub/);
    writeFileSync(join(dir, 'db.json'), JSON.stringify(emptyDb()));
    const wrong = cli(['replay', '--hub', join(dir, 'db.json')]);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /neotune-hub/);
  });

  it('select predicts an untuned problem from the shipped hub and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neotune-select-'));
    writeFileSync(join(dir, 'db.json'), snapshotText(emptyDb()));
    const r = cli(['select', '--shape', '1x160x20x20', '--spec', '5', '--db', join(dir, 'db.json'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { tuned: boolean; basis: string; predicted?: { expected_ms: number } };
    assert.equal(s.tuned, false);
    assert.match(s.basis, /^cost model \(\d+ measurements of \d+ problems on \d+ devices?\)$/);
    assert.ok(s.predicted && s.predicted.expected_ms > 0);
    const text = cli(['select', '--shape', '1x160x20x20', '--spec', '5', '--db', join(dir, 'db.json')]);
    assert.match(text.stdout, /UNTUNED: predicted by the cost model .*expected [\d.]+ ms/);
  });
});

describe('zero-evaluation selection', () => {
  it('select takes the predicted path for an untuned problem and says so, with an expected time', () => {
    const hub = syntheticHub();
    const model = modelOfEverything([hub], emptyDb())!;
    const problem = neoCellProblem({ N: 1, C: 192, H: 28, W: 28, spec: '7' });
    const s = select(emptyDb(), problem, session.device, cpuBackend.variants, () => ({ model, device: DEVICE }));
    assert.equal(s.tuned, false);
    assert.ok(s.predicted && s.predicted.expected_ms > 0 && s.predicted.range_ms[0] <= s.predicted.expected_ms);
    assert.match(s.basis, /cost model \(\d+ measurements of 6 problems on 1 device\)/);
    const space = buildSpace(problem, cpuBackend.variants, session).configs;
    const best = Math.min(...space.map((c) => syntheticMs(problem, c)));
    const chosen = syntheticMs(problem, { variant: s.variant, params: s.params });
    assert.ok(chosen <= best * 1.25, `${s.variant} ${JSON.stringify(s.params)}: ${chosen} vs best ${best}`);
    // Without a model: the nearest tuned problem's winner or the defaults, as before.
    assert.equal(select(emptyDb(), problem, session.device, cpuBackend.variants).basis, 'defaults');
  });

  it('select corrects the prediction by what other problems measured on this device show', () => {
    const model = modelOfEverything([syntheticHub()], emptyDb())!;
    const problem = neoCellProblem({ N: 1, C: 192, H: 28, W: 28, spec: '7' });
    const plain = select(emptyDb(), problem, session.device, cpuBackend.variants, () => ({ model, device: DEVICE }));
    assert.equal(plain.variant, 'tiled-wasm');
    // A device on which the fused kernels run three times as fast as the model's training says.
    const db = emptyDb();
    for (const [C, H] of [[64, 28], [128, 14], [96, 56]] as const) {
      const other = neoCellProblem({ N: 1, C, H, W: H, spec: '7' });
      const space = buildSpace(other, cpuBackend.variants, session).configs;
      const configs = ['fused-wasm', 'tiled-wasm'].flatMap((v) => space.filter((c) => c.variant === v).slice(0, 6));
      const record = problemRecord(other);
      db.entries[entryKey(deviceFingerprint(session.device), record)] = {
        device: deviceFingerprint(session.device),
        backend: 'cpu',
        problem: record,
        candidates: Object.fromEntries(configs.map((config) => {
          const ms = syntheticMs(other, config) * (config.variant === 'fused-wasm' ? 1 / 3 : 1);
          return [configKey(config), { key: configKey(config), config, source_hash: null, state: 'verified' as const, median_ms: ms, samples_ms: [ms], timing_method: 'x', executed_flops: 1 }];
        })),
      };
    }
    const s = select(db, problem, session.device, cpuBackend.variants, () => ({ model, device: DEVICE }));
    assert.equal(s.tuned, false);
    assert.equal(s.variant, 'fused-wasm', JSON.stringify(s));
    assert.match(s.basis, /; \d+ measurements of 3 other problems on this device\)/);
  });
});

describe('winners recomputed outside a tune', () => {
  it("break ties as a tune does: by the model's favourite where a model knows the backend, else by simplicity", () => {
    const hub = syntheticHub();
    const model = modelOfEverything([hub], emptyDb())!;
    const problem = neoCellProblem({ N: 1, C: 192, H: 28, W: 28, spec: '7' });
    const oneThread = buildSpace(problem, cpuBackend.variants, session).configs.filter((c) => Number(c.params.threads ?? 1) === 1);
    const entry = (configs: Config[]) => ({
      device: DEVICE.fingerprint,
      backend: 'cpu' as const,
      problem: problemRecord(problem),
      candidates: Object.fromEntries(configs.map((config) => [configKey(config), { key: configKey(config), config, source_hash: null, state: 'verified' as const, median_ms: 0.05, samples_ms: [0.05, 0.0501, 0.0499, 0.05, 0.05], timing_method: 'x', executed_flops: 1 }])),
    });
    const simplest = entryWinner(entry(oneThread), cpuBackend.variants)!;
    const favourite = entryWinnerAsTuned(entry(oneThread), cpuBackend.variants, { model, hubs: [hub] })!;
    const predicted = model.predict(problemRecord(problem), oneThread, DEVICE);
    const best = oneThread[predicted.reduce((b, x, i) => (x.mean < predicted[b]!.mean ? i : b), 0)]!;
    assert.equal(favourite.key, configKey(best));
    assert.notEqual(simplest.key, favourite.key, 'the synthetic model does not favour the simplest configuration');
    // A model that knows nothing of the backend, or none: simplicity.
    assert.equal(entryWinnerAsTuned({ ...entry(oneThread), backend: 'webgpu' as const }, cpuBackend.variants, { model, hubs: [hub] })!.key, configKey(oneThread.find((c) => configKey(c) === simplest.key)!));
    assert.equal(entryWinner(entry(oneThread), cpuBackend.variants, undefined, entryTieOrder(entry(oneThread), cpuBackend.variants))!.key, simplest.key);
  });
});

describe('the cost model in the runtime', () => {
  const hub = syntheticHub();
  const model = trainCostModel(hubSpaces(hub).flatMap((s) => s.configs.flatMap((config) => (s.truth.get(configKey(config)) ? [{ problem: s.problem, config, device: DEVICE, median_ms: s.truth.get(configKey(config))! }] : []))), { trees: 8, maxDepth: 8, minLeaf: 10, seed: 3 })!;
  const portable = model.portable(DEVICE);
  const tuned = PROBLEMS[1]!;
  const table: DispatchTable = {
    device: DEVICE.fingerprint,
    backend: 'cpu',
    rows: [{ op: 'neocell', N: tuned.N, C: tuned.C, H: tuned.H, W: tuned.W, spec: problemRecord(tuned).spec, dtype: 'float32', variant: 'fused-wasm', params: { ...cpuBackend.variants.find((v) => v.name === 'fused-wasm')!.defaults(tuned, session.device), threads: 1 }, median_ms: 0.02 }],
    model: JSON.parse(JSON.stringify(portable)) as PortableModel,
  };

  it('as data predicts what the trained model predicts', () => {
    const s = hubSpaces(hub)[3]!;
    const a = model.predict(s.problem, s.configs, DEVICE);
    const b = predictPortable(table.model!, s.problem, s.configs);
    assert.ok(Math.max(...a.map((x, i) => Math.abs(x.mean - b[i]!.mean) + Math.abs(x.sd - b[i]!.sd))) < 1e-5);
  });

  it('createNeoCell takes the predicted path for an untuned problem and reports it; a tuned one keeps its row; without the model, the nearest row', async () => {
    const layer = { N: 1, C: 48, H: 20, W: 20, spec: '5' };
    const cell = await createNeoCell({ backend: 'wasm', threads: 1 }, layer, { table });
    try {
      assert.equal(cell.choice.tuned, false);
      assert.match(cell.choice.reason, /^not tuned: predicted by the cost model \(\d+ measurements of 6 problems on 1 device\(s\)\), the fastest of \d+ configurations of this target .*expected [\d.]+ ms \([\d.]+–[\d.]+\)$/);
      assert.ok(cell.choice.predicted && cell.choice.predicted.expected_ms > 0);
      // The choice is the fastest predicted among every configuration this 1-thread target runs.
      const problem = neoCellProblem(layer);
      const configs = buildSpace(problem, cpuBackend.variants.filter((v) => v.name.endsWith('-wasm') && v.role === 'neocell'), { device: { ...session.device, limits: { threads: 1 }, details: { threads: 1 } } }).configs.filter((c) => Number(c.params.threads ?? 1) === 1);
      const p = predictPortable(table.model!, problemRecord(problem), configs);
      const best = configs[p.reduce((b, x, i) => (x.mean < p[b]!.mean ? i : b), 0)]!;
      assert.equal(configKey({ variant: cell.choice.variant, params: cell.choice.params }), configKey(best));
      assert.equal(cell.choice.predicted.candidates, configs.length);
    } finally {
      await cell.dispose();
    }
    const exact = await createNeoCell({ backend: 'wasm', threads: 1 }, { N: tuned.N, C: tuned.C, H: tuned.H, W: tuned.W, spec: '7' }, { table });
    assert.equal(exact.choice.tuned, true);
    await exact.dispose();
    const { model: _, ...withoutModel } = table;
    const nearest = await createNeoCell({ backend: 'wasm', threads: 1 }, layer, { table: withoutModel });
    assert.match(nearest.choice.reason, /the choice of the nearest tuned problem/);
    assert.equal(nearest.choice.predicted, undefined);
    await nearest.dispose();
  });

  it('a damaged model in a table is refused naming the field (never a wrong choice or a hang)', async () => {
    const damaged = (edit: (m: { trees: { c: number[]; t: number[]; r: number[] }[]; level: number[]; format: string }) => void) => {
      const m = JSON.parse(JSON.stringify(portable)) as Parameters<typeof edit>[0];
      edit(m);
      return { ...table, model: m as unknown as PortableModel };
    };
    const split = portable.trees[0]!.c.findIndex((c) => c >= 0);
    for (const [edit, field] of [
      [(m) => (m.format = 'pickle'), 'table.model.format'],
      [(m) => (m.level = [1, 2]), 'table.model.level'],
      // A right child pointing back up the tree would loop forever.
      [(m) => (m.trees[0]!.r[split] = split), `table.model.trees[0].r[${split}]`],
      [(m) => (m.trees[0]!.c[split] = 1e6), `table.model.trees[0].c[${split}]`],
    ] as const satisfies readonly (readonly [Parameters<typeof damaged>[0], string])[]) {
      await assert.rejects(createNeoCell({ backend: 'wasm', threads: 1 }, { N: 1, C: 48, H: 20, W: 20, spec: '5' }, { table: damaged(edit) }), (e: unknown) => e instanceof InputError && e.field === field);
    }
  });
});
