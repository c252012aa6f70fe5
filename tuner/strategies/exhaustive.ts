/** Every valid configuration once, in space order: the reference the other strategies are judged by. */
import type { Strategy } from './strategy.js';
import { untried } from './strategy.js';

export const exhaustive: Strategy = {
  name: 'exhaustive',
  next: (space, history) => untried(space, history)[0],
};
