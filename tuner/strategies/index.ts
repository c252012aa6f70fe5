/** The strategies by name (one file each, one interface: strategy.ts). */
import { InputError } from '../../core/errors.js';
import { annealing } from './annealing.js';
import { exhaustive } from './exhaustive.js';
import { randomSearch } from './random.js';
import type { Strategy } from './strategy.js';
import { tpe } from './tpe.js';

export const STRATEGIES: readonly Strategy[] = [exhaustive, randomSearch, annealing, tpe];
export const STRATEGY_NAMES = STRATEGIES.map((s) => s.name);

export function strategyByName(name: string): Strategy {
  const s = STRATEGIES.find((x) => x.name === name);
  if (!s) throw new InputError('strategy', name, STRATEGY_NAMES.join(', '));
  return s;
}
