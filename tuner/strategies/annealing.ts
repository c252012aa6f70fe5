/**
 * Simulated annealing over the one-parameter-change neighbourhood (space.ts `neighbours`): from the
 * current configuration, try an untried neighbour; move to it if faster, or if slower with
 * probability exp(−Δ/T) where Δ is the relative slowdown and T cools geometrically with the number
 * of evaluations. Restarts from a random untried configuration when a neighbourhood is exhausted.
 */
import { neighbours } from '../space.js';
import type { Observation, Strategy } from './strategy.js';
import { untried } from './strategy.js';

const T0 = 0.3;
const COOLING = 0.93;

export const annealing: Strategy = {
  name: 'annealing',
  next(space, history, rng) {
    const left = untried(space, history);
    if (left.length === 0) return undefined;
    // Replay the walk: the current state after each observation (deterministic given the Rng).
    let current: Observation | undefined;
    history.forEach((h, i) => {
      if (h.time === undefined) return;
      if (!current || current.time === undefined || h.time <= current.time) {
        current = h;
        return;
      }
      const delta = (h.time - current.time) / current.time;
      const T = T0 * COOLING ** i;
      if (rng.next() < Math.exp(-delta / Math.max(T, 1e-9))) current = h;
    });
    if (!current) return left[rng.int(0, left.length - 1)];
    const seen = new Set(history.map((h) => h.config));
    const options = neighbours(space, current.config).filter((c) => !seen.has(c));
    // Prefer same-variant moves (one parameter); another variant is a bigger jump, taken less often.
    const near = options.filter((c) => c.variant === current!.config.variant);
    const pool = near.length && rng.next() < 0.8 ? near : options.length ? options : left;
    return pool[rng.int(0, pool.length - 1)];
  },
};
