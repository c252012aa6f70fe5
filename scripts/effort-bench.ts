/**
 * How good the effort levels' winners are: tunes a suite's NeoCell problems on the CPU backend
 * with each effort level (TPE, its budget, no time cap) and exhaustively, then places each level's
 * winner among the exhaustive run's timings of the same configurations (one run, one machine
 * state): "within" = its median there over the exhaustive winner's.
 *
 *   node dist/scripts/effort-bench.js [--suite neonext-t] [--efforts quick,balanced]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { problemKey } from '../harness/problem.js';
import { openBackends } from '../lib/run.js';
import { openStore, tuneSuite } from '../lib/tune.js';
import { resolveSuite } from '../suites/suite.js';
import { configKey } from '../tuner/space.js';
import { strategyByName } from '../tuner/strategies/index.js';
import { fmt, formatTable } from './cli-util.js';
import { EFFORTS, type Effort } from './options.js';

const { values } = parseArgs({ options: { suite: { type: 'string', default: 'neonext-t' }, efforts: { type: 'string', default: 'quick,balanced' } } });
const efforts = values.efforts!.split(',') as Effort[];
const suite = resolveSuite(values.suite!);
const dir = mkdtempSync(join(tmpdir(), 'neotune-effort-'));
const runs = await openBackends('cpu', () => {});
const neocellVariants = runs[0]!.backend.variants.filter((v) => v.op === 'neocell').map((v) => v.name);
const winners = new Map<string, Map<string, string>>();
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
      winners.get(key)!.set(level, configKey(result.winner.config));
    }
    if (level === 'exhaustive') {
      // The exhaustive run's median of every configuration, to place each level's winner.
      const medians = new Map(tuned.flatMap(({ problem, result }) => Object.values(result.entry.candidates).map((c) => [`${problemKey(problem)} ${c.key}`, c.median_ms] as const)));
      const rows = [...winners].map(([problem, byLevel]) => {
        const best = medians.get(`${problem} ${byLevel.get('exhaustive')!}`)!;
        return [problem.split(' ').slice(0, 2).join(' '), fmt(best, 4), ...efforts.map((e) => {
          const m = medians.get(`${problem} ${byLevel.get(e)}`);
          return m === undefined ? '–' : `${fmt(100 * (m / best - 1), 1)} %`;
        })];
      });
      process.stdout.write(formatTable(['problem', 'exhaustive best ms', ...efforts.map((e) => `${e}: winner vs best`)], rows) + `\ntuning time: ${walls.join(', ')}\n`);
    }
  }
} finally {
  for (const r of runs) await r.session.close();
}
