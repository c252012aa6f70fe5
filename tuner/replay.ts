/**
 * Replay (simulation) mode: run a strategy against a recorded exhaustive run, looking up each
 * proposed configuration's recorded median instead of executing a kernel. Deterministic, so tests
 * can check strategies exactly, and fast enough to measure strategy quality over many seeds.
 */
import { CONFIG_SCHEMA } from './db-schema.js';
import { Rng } from '../core/rng.js';
import { quantile } from '../harness/stats.js';
import type { Problem } from '../harness/types.js';
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

export function recordedSearchSpace(rec: RecordedSpace, problem: Problem): { space: SearchSpace; times: Map<string, number | undefined> } {
  const configs = rec.configs.map((c) => c.config);
  const variants = [...new Set(configs.map((c) => c.variant))].map((name) => ({ name }));
  return {
    space: { problem, configs, pruned: [], variants: variants as never },
    times: new Map(rec.configs.map((c) => [configKey(c.config), c.median_ms ?? undefined])),
  };
}

/** The observations a strategy makes in `budget` evaluations, times looked up in the record. */
export function replay(strategy: Strategy, space: SearchSpace, times: ReadonlyMap<string, number | undefined>, seed: number, budget = space.configs.length): Observation[] {
  const rng = new Rng(seed);
  const history: Observation[] = [];
  while (history.length < budget) {
    const c = strategy.next(space, history, rng);
    if (!c) break;
    if (!times.has(configKey(c))) throw new Error(`replay: ${configKey(c)} is not in the recorded space`);
    history.push({ config: c, time: times.get(configKey(c)) });
  }
  return history;
}

/** Evaluations until the best time seen is within `tolerance` of the exhaustive best (Infinity if never). */
export function evaluationsToNearBest(history: readonly Observation[], best: number, tolerance = 0.05): number {
  let bestSeen = Infinity;
  for (const [i, h] of history.entries()) {
    if (h.time !== undefined) bestSeen = Math.min(bestSeen, h.time);
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

export function strategyQuality(strategy: Strategy, space: SearchSpace, times: ReadonlyMap<string, number | undefined>, seeds: number, tolerance = 0.05): StrategyQuality {
  const best = Math.min(...[...times.values()].filter((t): t is number => t !== undefined));
  const n = Array.from({ length: seeds }, (_, s) => evaluationsToNearBest(replay(strategy, space, times, 1000 + s), best, tolerance));
  const med = quantile(n, 0.5);
  return { strategy: strategy.name, seeds, spaceSize: space.configs.length, medianEvaluations: med, medianFraction: med / space.configs.length, p90Evaluations: quantile(n, 0.9) };
}
