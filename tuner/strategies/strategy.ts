/**
 * The interface every search strategy implements. A strategy only proposes: the tuner (or the
 * replay simulator) evaluates, and feeds every observation back through `history`. Strategies are
 * deterministic given their Rng, so a seed reproduces a whole tuning run.
 */
import type { Rng } from '../../core/rng.js';
import type { Prediction } from '../../model/cost-model.js';
import type { RelatedObservation } from '../model/posterior.js';
import type { Config, SearchSpace } from '../space.js';

export interface Observation {
  readonly config: Config;
  /** Median time in ms; undefined when the candidate failed (never chosen, but not retried). */
  readonly time: number | undefined;
}

/** What a strategy may know besides the problem's own observations. */
export interface StrategyContext {
  /** The cost model's prediction for configurations of this space, by configuration key (ln ms). */
  readonly prior?: ReadonlyMap<string, Prediction>;
  /** Measurements of other problems on this device, with the model's predictions for them: what the device does that the prior does not know. */
  readonly related?: readonly RelatedObservation[];
  /** Evaluations left in the budget, this one included (the search loop says it). */
  readonly left?: number;
}

export interface Strategy {
  readonly name: string;
  /** The next configuration to evaluate (never one already in history), or undefined when done. */
  next(space: SearchSpace, history: readonly Observation[], rng: Rng, context?: StrategyContext): Config | undefined;
}

/** Configurations not evaluated yet, in space order. */
export function untried(space: SearchSpace, history: readonly Observation[]): Config[] {
  const seen = new Set(history.map((h) => h.config));
  return space.configs.filter((c) => !seen.has(c));
}
