/**
 * The search loop, once, for every way of evaluating a configuration: real kernels (tuneProblem:
 * verify and time), a recorded exhaustive run (replay, strategy quality) and the fleet's replay
 * worker. Warm starts go first, then the strategy proposes; the budget (one rule:
 * evaluationBudget), a time limit, the end of the space or a stop signal ends it. Strategies are
 * deterministic given their seed, so a seed reproduces a search whatever evaluates it.
 */
import { Rng } from '../core/rng.js';
import { type Config, configKey, type SearchSpace } from './space.js';
import type { Observation, Strategy, StrategyContext } from './strategies/strategy.js';

/** Fewest evaluations a fractional budget gives a problem (all of a smaller space). */
export const MIN_EVALUATIONS = 16;

export interface TuneBudget {
  /** Evaluations at most, those already in the database (resumed) included. */
  readonly evaluations?: number;
  /** Evaluations at most as a fraction of the pruned space (used when `evaluations` is not set), resumed ones included. */
  readonly fraction?: number;
  /** Wall time at most, ms. */
  readonly timeMs?: number;
}

/**
 * Evaluations a problem whose (pruned, sliced) space has `spaceSize` configurations gets, resumed
 * ones included. A fraction of a small space (a baseline's dozen configurations) would leave it
 * barely tuned and flatter every comparison with it: at least MIN_EVALUATIONS, or the whole space
 * if smaller. No evaluation count and no fraction: the whole space.
 */
export function evaluationBudget(budget: TuneBudget, spaceSize: number): number {
  if (budget.evaluations !== undefined) return budget.evaluations;
  if (budget.fraction !== undefined) return Math.max(Math.min(MIN_EVALUATIONS, spaceSize), Math.ceil(budget.fraction * spaceSize));
  return Infinity;
}

/** Evaluates one proposed configuration: its median time in ms, or undefined when it failed. */
export type Evaluator = (config: Config) => Promise<number | undefined> | number | undefined;

export interface SearchOptions {
  readonly strategy: Strategy;
  readonly seed: number;
  /** Evaluations in all, those of `resumed` included (evaluationBudget). */
  readonly evaluations: number;
  /** Wall time at most, ms: no evaluation starts after it, but for a first one where nothing was measured yet. */
  readonly timeMs?: number;
  readonly signal?: AbortSignal;
  /** What earlier runs measured of this space (the strategy sees it; it counts in the budget). */
  readonly resumed?: readonly Observation[];
  /** Configurations evaluated first, before the strategy proposes: those in the space and not measured yet, in their order. */
  readonly warmStart?: readonly Config[];
  /** What the strategy may know besides this problem's observations (the cost model's prior). */
  readonly context?: StrategyContext;
  /** Called before each evaluation (progress). */
  readonly onProposal?: (config: Config, history: readonly Observation[]) => void;
}

/** Runs the search; returns every observation (the resumed ones first). */
export async function search(space: SearchSpace, evaluate: Evaluator, o: SearchOptions): Promise<Observation[]> {
  const rng = new Rng(o.seed);
  const history: Observation[] = [...(o.resumed ?? [])];
  const started = performance.now();
  const tried = new Set(history.map((h) => configKey(h.config)));
  const inSpace = new Map(space.configs.map((c) => [configKey(c), c]));
  const warm = (o.warmStart ?? []).map((c) => inSpace.get(configKey(c))).filter((c): c is Config => c !== undefined && !tried.has(configKey(c)));
  while (history.length < o.evaluations && !o.signal?.aborted) {
    // A time limit ends the search, but not before a first measurement: under a tune's overall
    // limit, a problem whose share the problems before it used up (a side-by-side re-timing
    // never goes below 3 finalists and 3 rounds, whatever is left of its share) would otherwise
    // get no winner at all, where its first configuration (a warm start or the model's
    // favourite) takes a fraction of a second.
    if (o.timeMs !== undefined && history.length > 0 && performance.now() - started >= o.timeMs) break;
    const config = warm.shift() ?? o.strategy.next(space, history, rng, { ...o.context, left: o.evaluations - history.length });
    if (!config) break;
    o.onProposal?.(config, history);
    history.push({ config, time: await evaluate(config) });
  }
  return history;
}
