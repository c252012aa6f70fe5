/**
 * Model-based: a Tree-structured Parzen Estimator over the categorical space (Bergstra et al.,
 * 2011). After a few random probes, observations are split into the fastest γ fraction ("good")
 * and the rest; each feature (variant, and each parameter value within a variant) gets a smoothed
 * frequency under both sets, and the untried configuration maximising Π l(x)/g(x) is evaluated next.
 * Failed candidates count as bad.
 */
import { features } from '../space.js';
import type { Strategy } from './strategy.js';
import { untried } from './strategy.js';

const STARTUP = 8;
const GAMMA = 0.25;

export const tpe: Strategy = {
  name: 'tpe',
  next(space, history, rng) {
    const left = untried(space, history);
    if (left.length === 0) return undefined;
    if (history.length < STARTUP) return left[rng.int(0, left.length - 1)];
    const ok = history.filter((h) => h.time !== undefined).sort((a, b) => a.time! - b.time!);
    const nGood = Math.max(1, Math.ceil(GAMMA * ok.length));
    const good = ok.slice(0, nGood);
    const bad = [...ok.slice(nGood), ...history.filter((h) => h.time === undefined)];
    // Number of distinct values per feature name, for Laplace smoothing.
    const arity = new Map<string, Set<string>>();
    for (const c of space.configs) for (const [k, v] of features(c)) (arity.get(k) ?? arity.set(k, new Set()).get(k)!).add(String(v));
    const counts = (set: typeof good) => {
      const m = new Map<string, number>();
      const totals = new Map<string, number>();
      for (const h of set)
        for (const [k, v] of features(h.config)) {
          m.set(`${k}=${v}`, (m.get(`${k}=${v}`) ?? 0) + 1);
          totals.set(k, (totals.get(k) ?? 0) + 1);
        }
      return { m, totals };
    };
    const g = counts(good);
    const b = counts(bad);
    const logDensity = (c: (typeof left)[number], set: ReturnType<typeof counts>) =>
      features(c).reduce((s, [k, v]) => s + Math.log(((set.m.get(`${k}=${v}`) ?? 0) + 1) / ((set.totals.get(k) ?? 0) + arity.get(k)!.size)), 0);
    let best = left[0]!;
    let bestScore = -Infinity;
    for (const c of left) {
      const score = logDensity(c, g) - logDensity(c, b) + 1e-9 * rng.next(); // seeded tie-break
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    return best;
  },
};
