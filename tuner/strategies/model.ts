/**
 * Model-based (the default): ranks the untried configurations by the cost model's prediction for
 * this problem (model/cost-model.ts, learned from every other problem and device measured),
 * corrected after each evaluation by what this problem's own measurements say
 * (tuner/model/posterior.ts) and by other problems measured on this device (the run's earlier
 * ones, the database's), and evaluates the one with the lowest optimistic bound
 * (mean − κ·sd: exploit the prediction, explore where it is unsure). Its first proposal is the
 * model's zero-evaluation choice. Without a model (nothing measured yet on any device) every
 * configuration starts alike and the problem's own measurements are all it learns from.
 */
import { problemRecord } from '../../harness/problem.js';
import { configKey } from '../space.js';
import { FLAT_PRIOR, problemPosterior } from '../model/posterior.js';
import type { Strategy } from './strategy.js';

/** κ, the weight of the uncertainty in the bound (chosen leave-one-problem-out on the hub: 0.5 to 2 tried, 2 found the best within 10 evaluations most often). */
export const MODEL_SEARCH = { exploration: 2 };

export const modelStrategy: Strategy = {
  name: 'model',
  next(space, history, rng, context) {
    const index = new Map(space.configs.map((c, i) => [configKey(c), i]));
    const tried = new Set(history.map((h) => configKey(h.config)));
    if (tried.size >= space.configs.length) return undefined;
    const prior = space.configs.map((c) => context?.prior?.get(configKey(c)) ?? FLAT_PRIOR);
    const observed = history.flatMap((h) => (h.time !== undefined && index.has(configKey(h.config)) ? [{ index: index.get(configKey(h.config))!, logMs: Math.log(h.time) }] : []));
    const post = problemPosterior(space.configs, prior, observed, {}, context?.related, problemRecord(space.problem));
    // The last evaluation of the budget goes to the fewest threads if none was measured yet: a
    // target that allows fewer threads than the winner uses (the runtime's fewer_threads) then
    // gets a measured choice instead of the defaults.
    const threads = (c: (typeof space.configs)[number]) => Number(c.params.threads ?? 1);
    const fewest = Math.min(...space.configs.map(threads));
    const onlyFewest = context?.left === 1 && history.length > 0 && !history.some((h) => h.time !== undefined && threads(h.config) === fewest);
    // The first proposal is the model's zero-evaluation choice (its best mean); then the bound.
    const kappa = observed.length === 0 ? 0 : MODEL_SEARCH.exploration;
    const pick = (restrict: boolean) => {
      let best = -1;
      let bestScore = Infinity;
      for (const [i, c] of space.configs.entries()) {
        if (tried.has(configKey(c)) || (restrict && threads(c) !== fewest)) continue;
        const score = post[i]!.mean - kappa * post[i]!.sd + 1e-9 * rng.next(); // seeded tie-break
        if (score < bestScore) {
          bestScore = score;
          best = i;
        }
      }
      return best >= 0 ? space.configs[best] : undefined;
    };
    return (onlyFewest ? pick(true) : undefined) ?? pick(false);
  },
};
