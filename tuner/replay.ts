/**
 * Replay (simulation) mode: run a strategy against a recorded exhaustive run, looking up each
 * proposed configuration's recorded median instead of executing a kernel. Deterministic, so tests
 * can check strategies exactly, and fast enough to measure strategy quality over many seeds.
 */
import { CONFIG_SCHEMA } from './db-schema.js';
import { InputError } from '../core/errors.js';
import { MODEL_NAMES } from '../core/network.js';
import { problemKey } from '../harness/problem.js';
import { quantile } from '../harness/stats.js';
import type { Problem } from '../harness/types.js';
import { networkSuite } from '../suites/builtin.js';
import { search } from './search.js';
import { type Config, configKey, type SearchSpace } from './space.js';
import type { Observation, Strategy } from './strategies/strategy.js';

/** A recorded exhaustive run: every configuration's median time (undefined = failed). */
export interface RecordedSpace {
  readonly schema: 'neotune-recorded-space';
  readonly version: 1;
  readonly description: string;
  readonly problem: string;
  readonly configs: readonly { readonly config: Config; readonly median_ms: number | null }[];
}

export const RECORDED_SPACE_SCHEMA = {
  type: 'object',
  required: ['schema', 'version', 'description', 'problem', 'configs'],
  properties: {
    schema: { const: 'neotune-recorded-space' },
    version: { const: 1 },
    description: { type: 'string' },
    problem: { type: 'string' },
    configs: { type: 'array', minItems: 1, items: { type: 'object', required: ['config', 'median_ms'], properties: { config: CONFIG_SCHEMA, median_ms: { anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'null' }] } } } },
  },
} as const;

/** The problem a recorded space was measured on, found among the NeoNeXt networks' problems (batch 1, 8 or 64). */
export function recordedProblem(rec: RecordedSpace): Problem {
  for (const model of MODEL_NAMES) {
    for (const batch of [1, 8, 64]) {
      for (const c of networkSuite(model, 224, { batch }).cases) for (const p of [c.neocell, c.dwconv]) if (problemKey(p) === rec.problem) return p;
    }
  }
  throw new InputError('replay.problem', rec.problem, 'a problem of the NeoNeXt suites (batch 1, 8 or 64)');
}

/** The recorded space as a search space of its problem (the recorded one unless given), and its times by configuration key. */
export function recordedSearchSpace(rec: RecordedSpace, problem: Problem = recordedProblem(rec)): { space: SearchSpace; times: Map<string, number | undefined> } {
  const configs = rec.configs.map((c) => c.config);
  const variants = [...new Set(configs.map((c) => c.variant))].map((name) => ({ name }));
  return {
    space: { problem, configs, pruned: [], variants: variants as never },
    times: new Map(rec.configs.map((c) => [configKey(c.config), c.median_ms ?? undefined])),
  };
}

/** The times of a recorded run as the search's evaluator. */
export function recordedTimes(times: ReadonlyMap<string, number | undefined>): (c: Config) => number | undefined {
  return (c) => {
    if (!times.has(configKey(c))) throw new Error(`replay: ${configKey(c)} is not in the recorded space`);
    return times.get(configKey(c));
  };
}

/** The observations a strategy makes in `budget` evaluations, times looked up in the record. */
export function replay(strategy: Strategy, space: SearchSpace, times: ReadonlyMap<string, number | undefined>, seed: number, budget = space.configs.length): Promise<Observation[]> {
  return search(space, recordedTimes(times), { strategy, seed, evaluations: budget });
}

/**
 * Evaluations until the best time seen is within `tolerance` of the exhaustive best (Infinity if
 * never); `timeOf` reads an observation's time (its measured one, or a hub's best estimate).
 */
export function evaluationsToNearBest(history: readonly Observation[], best: number, tolerance = 0.05, timeOf: (h: Observation) => number | undefined = (h) => h.time): number {
  let bestSeen = Infinity;
  for (const [i, h] of history.entries()) {
    const t = timeOf(h);
    if (t !== undefined) bestSeen = Math.min(bestSeen, t);
    if (bestSeen <= best * (1 + tolerance)) return i + 1;
  }
  return Infinity;
}

export interface StrategyQuality {
  readonly strategy: string;
  readonly seeds: number;
  readonly spaceSize: number;
  /** Median over seeds of the evaluations needed to get within tolerance of the best. */
  readonly medianEvaluations: number;
  readonly medianFraction: number;
  readonly p90Evaluations: number;
}

export async function strategyQuality(strategy: Strategy, space: SearchSpace, times: ReadonlyMap<string, number | undefined>, seeds: number, tolerance = 0.05): Promise<StrategyQuality> {
  const best = Math.min(...[...times.values()].filter((t): t is number => t !== undefined));
  const n: number[] = [];
  for (let s = 0; s < seeds; s++) n.push(evaluationsToNearBest(await replay(strategy, space, times, 1000 + s), best, tolerance));
  const med = quantile(n, 0.5);
  return { strategy: strategy.name, seeds, spaceSize: space.configs.length, medianEvaluations: med, medianFraction: med / space.configs.length, p90Evaluations: quantile(n, 0.9) };
}
