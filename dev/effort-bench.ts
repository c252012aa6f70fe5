/**
 * How good the effort levels' winners are: tunes a suite's NeoCell problems on the CPU backend
 * with each effort level (TPE, its budget, no time cap) and exhaustively, then measures each
 * problem's winners side by side: the distinct winning configurations are opened, verified and
 * timed in interleaved rounds (rotated, reversed every other round), and each level's figure is the
 * median over rounds of (its winner's round median / the exhaustive winner's). Comparing medians
 * from the exhaustive search itself would favour its winner: the fastest of ~200 noisy timings is
 * biased low.
 *
 *   node dist/dev/effort-bench.js [--suite neonext-t] [--efforts quick,balanced] [--rounds 12] [--dir DIR]
 *
 * --dir keeps the tuning databases there (LEVEL.json): a second run reuses them and only measures.
 */
import { createKernel } from '../harness/compile.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureKernel, prepareAndVerify, timingFields } from '../harness/evaluate.js';
import { makeProblemData, problemKey } from '../harness/problem.js';
import { DEFAULT_TARGET_REL } from '../harness/stability.js';
import { quantile } from '../harness/stats.js';
import type { KernelInstance, Problem } from '../harness/types.js';
import type { Config } from '../tuner/space.js';
import { openBackends } from '../lib/run.js';
import { openStore, tuneSuite } from '../lib/tune.js';
import { resolveSuite } from '../suites/suite.js';
import { configKey } from '../tuner/space.js';
import { strategyByName } from '../tuner/strategies/index.js';
import { fmt, formatTable } from '../scripts/cli-util.js';
import { EFFORTS, type Effort } from '../scripts/options.js';

const { values } = parseArgs({ options: { suite: { type: 'string', default: 'neonext-t' }, efforts: { type: 'string', default: 'quick,balanced' }, rounds: { type: 'string', default: '12' }, dir: { type: 'string' } } });
const ROUNDS = Number(values.rounds);
const efforts = values.efforts!.split(',') as Effort[];
const suite = resolveSuite(values.suite!);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'neotune-effort-'));
process.stderr.write(`tuning databases in ${dir}\n`);
const runs = await openBackends('cpu', () => {});
const neocellVariants = runs[0]!.backend.variants.filter((v) => v.op === 'neocell').map((v) => v.name);
const winners = new Map<string, Map<string, Config>>();
const problems = new Map<string, Problem>();
const walls: string[] = [];
try {
  for (const level of [...efforts, 'exhaustive'] as const) {
    const store = await openStore(join(dir, `${level}.json`), true);
    const started = performance.now();
    const tuned = await tuneSuite(store, suite, runs, {
      strategy: strategyByName(level === 'exhaustive' ? 'exhaustive' : 'tpe'),
      seed: 1,
      budget: level === 'exhaustive' ? {} : { fraction: EFFORTS[level].fraction },
      // NeoCell variants only: the depthwise baselines are not what the levels are judged on.
      kernels: neocellVariants,
      log: (s) => process.stderr.write(`${s}\n`),
      progress: (p) => process.stderr.write(`\r${level}: ${fmt(p.done, 1)}/${p.total} ${p.current.slice(0, 70).padEnd(70)}`),
    });
    const wall = (performance.now() - started) / 1000;
    walls.push(`${level} ${fmt(wall, 0)} s`);
    process.stderr.write('\n');
    for (const { problem, result } of tuned) {
      if (problem.op !== 'neocell' || !result.winner) continue;
      const key = problemKey(problem);
      if (!winners.has(key)) winners.set(key, new Map());
      winners.get(key)!.set(level, result.winner.config);
      problems.set(key, problem);
    }
  }
  const { session } = runs[0]!;
  const variants = new Map(runs[0]!.backend.variants.map((v) => [v.name, v]));
  const rows: string[][] = [];
  for (const [key, byLevel] of winners) {
    const problem = problems.get(key)!;
    const data = makeProblemData(problem, 1);
    const distinct = new Map([...byLevel.values()].map((c) => [configKey(c), c]));
    const kernels = new Map<string, KernelInstance>();
    const rounds = new Map<string, number[]>();
    try {
      for (const [k, c] of distinct) {
        const kernel = await createKernel(variants.get(c.variant)!, problem, c.params, session);
        kernels.set(k, kernel);
        if (!(await prepareAndVerify(kernel, data)).ok) throw new Error(`${k} does not verify`);
        rounds.set(k, []);
      }
      const order = [...kernels.keys()];
      for (let r = 0; r < ROUNDS; r++) {
        const turn = order.map((_, i) => order[(i + r) % order.length]!);
        if (r % 2) turn.reverse();
        for (const k of turn) {
          const t = await measureKernel(kernels.get(k)!, { timeMs: 60, minSamples: 5, warmupMs: r === 0 ? 20 : 0 });
          rounds.get(k)!.push(timingFields(t, DEFAULT_TARGET_REL).median_ms!);
        }
      }
    } finally {
      for (const k of kernels.values()) await k.dispose();
    }
    const best = rounds.get(configKey(byLevel.get('exhaustive')!))!;
    const ratio = (level: string) => {
      const mine = rounds.get(configKey(byLevel.get(level)!))!;
      return quantile(mine.map((m, r) => m / best[r]!), 0.5);
    };
    process.stderr.write(`${key}: ${[...byLevel].map(([l, c]) => `${l} ${configKey(c)}`).join(' | ')}\n`);
    rows.push([key.split(' ').slice(0, 2).join(' '), fmt(quantile(best, 0.5), 4), ...efforts.map((e) => `${fmt(100 * (ratio(e) - 1), 1)} %`)]);
  }
  process.stdout.write(
    formatTable(['problem', 'exhaustive winner ms', ...efforts.map((e) => `${e} winner vs exhaustive`)], rows) +
      `\n(median over ${ROUNDS} interleaved rounds of the time ratio; 0 % = the same configuration or as fast)\ntuning time: ${walls.join(', ')}\n`,
  );
} finally {
  for (const r of runs) await r.session.close();
}
