/**
 * What the measurements of one problem teach about the rest of its space, on top of the cost
 * model's prior. Each configuration's log time is the prior's mean plus a problem-wide offset (a
 * new device or a problem unlike the training ones is slower or faster across the board) plus a
 * residual correlated between configurations that behaved alike across the training problems
 * (their profiles) or differ in few parameters (a Hamming-distance kernel over the categorical
 * features) — a Gaussian process with each configuration's prior spread as its scale. With a few observations the offset is learned and
 * near neighbours of a surprise move with it; the prior ranks the rest.
 */
import { type Config, features } from '../space.js';
import { choleskySolver } from '../../model/cholesky.js';
import type { Prediction } from '../../model/cost-model.js';

export interface PosteriorOptions {
  /** Prior standard deviation of the problem-wide offset (ln units). */
  readonly offsetSd: number;
  /** Hamming distance over which the residuals' correlation falls by e. */
  readonly lengthScale: number;
  /** Timing noise of one observation (ln units). */
  readonly noiseSd: number;
  /** Smallest residual scale, whatever the prior says of its own spread. */
  readonly sdFloor: number;
  /** Share of the residual correlation that comes from the configurations' profiles across training problems (the rest: the Hamming kernel). */
  readonly profileWeight: number;
}

export const DEFAULT_POSTERIOR: PosteriorOptions = { offsetSd: 0.5, lengthScale: 1.5, noiseSd: 0.05, sdFloor: 0.08, profileWeight: 0.7 };

/** A prior with no model behind it: every configuration alike, wide. */
export const FLAT_PRIOR: Prediction = { mean: 0, sd: 1 };

export interface Observed {
  /** Index of the configuration in the list given. */
  readonly index: number;
  /** ln of its measured time, ms. */
  readonly logMs: number;
}

/** Number of (feature, value) pairs in which two configurations differ. */
function hamming(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): number {
  let d = 0;
  for (const [k, v] of a) if (b.get(k) !== v) d++;
  for (const k of b.keys()) if (!a.has(k)) d++;
  return d;
}

/** Posterior mean and spread of every configuration's ln time given the problem's observations. */
export function problemPosterior(configs: readonly Config[], prior: readonly Prediction[], observed: readonly Observed[], options: Partial<PosteriorOptions> = {}): Prediction[] {
  const o = { ...DEFAULT_POSTERIOR, ...options };
  const scale = prior.map((p) => Math.max(p.sd, o.sdFloor));
  if (observed.length === 0) return prior.map((p, i) => ({ mean: p.mean, sd: Math.sqrt(o.offsetSd ** 2 + scale[i]! ** 2) }));
  const feats = configs.map((c) => new Map(features(c)));
  const profiles = prior.map((p) => p.profile);
  const correlation = (i: number, j: number) => {
    if (i === j) return 1;
    const a = profiles[i];
    const b = profiles[j];
    let dot = 0;
    if (a && b && a.length === b.length) for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
    return o.profileWeight * dot + (1 - o.profileWeight) * Math.exp(-hamming(feats[i]!, feats[j]!) / o.lengthScale);
  };
  const cov = (i: number, j: number) => o.offsetSd ** 2 + scale[i]! * scale[j]! * correlation(i, j);
  const n = observed.length;
  const K = observed.map((a, r) => observed.map((b, c) => cov(a.index, b.index) + (r === c ? o.noiseSd ** 2 : 0)));
  const factored = choleskySolver(K);
  const residual = observed.map((x) => x.logMs - prior[x.index]!.mean);
  const alpha = factored.solve(residual);
  return configs.map((_, i) => {
    const k = observed.map((x) => cov(i, x.index));
    let mean = prior[i]!.mean;
    for (let j = 0; j < n; j++) mean += k[j]! * alpha[j]!;
    const v = factored.lowerSolve(k);
    const variance = o.offsetSd ** 2 + scale[i]! ** 2 - v.reduce((s, x) => s + x * x, 0);
    return { mean, sd: Math.sqrt(Math.max(variance, 1e-12)) };
  });
}
