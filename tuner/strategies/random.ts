/** Uniform random sampling without replacement: the baseline any smarter strategy must beat. */
import type { Strategy } from './strategy.js';
import { untried } from './strategy.js';

export const randomSearch: Strategy = {
  name: 'random',
  next(space, history, rng) {
    const left = untried(space, history);
    return left.length ? left[rng.int(0, left.length - 1)] : undefined;
  },
};
