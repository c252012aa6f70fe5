/** The strategies by name (one file each, one interface: strategy.ts). */
import { InputError } from '../../core/errors.js';
import { annealing } from './annealing.js';
import { exhaustive } from './exhaustive.js';
import { modelStrategy } from './model.js';
import { randomSearch } from './random.js';
import type { Strategy } from './strategy.js';
import { tpe } from './tpe.js';

/** The search strategies: exhaustive, random, simulated annealing, TPE, model-based (the default). */
export const STRATEGIES: readonly Strategy[] = [exhaustive, randomSearch, annealing, tpe, modelStrategy];
/** The names accepted by strategyByName and --strategy. */
export const STRATEGY_NAMES = STRATEGIES.map((s) => s.name);

/** The strategy named `name`; an unknown name throws an InputError listing STRATEGY_NAMES. */
export function strategyByName(name: string): Strategy {
  const s = STRATEGIES.find((x) => x.name === name);
  if (!s) throw new InputError('strategy', name, STRATEGY_NAMES.join(', '));
  return s;
}
