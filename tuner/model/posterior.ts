/**
 * What the measurements of one problem teach about the rest of its space, on top of the cost
 * model's prior. Each configuration's log time is the prior's mean plus a problem-wide offset (a
 * new device or a problem unlike the training ones is slower or faster across the board) plus a
 * residual correlated between configurations that behaved alike across the training problems
 * (their profiles) or differ in few parameters (a Hamming-distance kernel over the categorical
 * features) — a Gaussian process with each configuration's prior spread as its scale. With a few
 * observations the offset is learned and near neighbours of a surprise move with it; the prior
 * ranks the rest. Measurements of other problems on the same device add a residual the device
 * shares across problems (its scale learned from them): on a device the prior never saw, kinds
 * of configurations that ran faster or slower than predicted on the problems tuned before move
 * this problem's ranking before it is measured at all.
 */
import { type Config, features } from '../space.js';
import { choleskySolver } from '../../model/cholesky.js';
import type { Prediction } from '../../model/cost-model.js';
import type { ProblemRecord } from '../../harness/problem.js';
import { problemDistance } from '../../runtime/choice.js';

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
  /**
   * Prior standard deviation of the device's residual, shared by every problem measured on it (ln
   * units; 0: problems teach each other nothing) not fading with the problems' distance, or
   * 'learned': the scale and fading (or none) under which the other problems' measurements are
   * likeliest.
   */
  readonly deviceSd: number | 'learned';
  /** Hamming distance over which the device residual's correlation between configurations falls by e. */
  readonly deviceLengthScale: number;
}

export const DEFAULT_POSTERIOR: PosteriorOptions = { offsetSd: 0.5, lengthScale: 1.5, noiseSd: 0.05, sdFloor: 0.08, profileWeight: 0.7, deviceSd: 'learned', deviceLengthScale: 1.5 };

/**
 * The device residual's scales the likelihood chooses among (or no device term at all). On a
 * device the prior was trained on, what other problems' measurements leave unexplained is mostly
 * their own and no term wins; on a device it has not seen, the same kinds of configurations miss
 * the same way from problem to problem.
 */
export const DEVICE_SD_CHOICES = [0.05, 0.1, 0.2, 0.4] as const;

/** Problem distances (runtime/choice.ts problemDistance: log2 steps of N, C, H, W, 1 for another cell) over which the device term may fade by e; Infinity: it does not fade. */
export const DEVICE_SHAPE_LENGTH_SCALES = [3, 9, Infinity] as const;

/** A prior with no model behind it: every configuration alike, wide. */
export const FLAT_PRIOR: Prediction = { mean: 0, sd: 1 };

export interface Observed {
  /** Index of the configuration in the list given. */
  readonly index: number;
  /** ln of its measured time, ms. */
  readonly logMs: number;
}

/**
 * Each configuration's features as one value id per feature of any of them (-1: it has none), so
 * that the Hamming distance is a comparison of small integer arrays: a posterior over a space of
 * ~400 configurations and ~130 observations takes ~50,000 distances per proposal.
 */
function encodeFeatures(configs: readonly Config[]): Int32Array[] {
  const keys = new Map<string, number>();
  const values = new Map<string, number>();
  const listed = configs.map((c) => features(c).map(([k, v]) => [keys.get(k) ?? keys.set(k, keys.size).size - 1, `${typeof v}:${String(v)}`] as const));
  return listed.map((pairs) => {
    const codes = new Int32Array(keys.size).fill(-1);
    for (const [k, v] of pairs) codes[k] = values.get(v) ?? values.set(v, values.size).size - 1;
    return codes;
  });
}

/** Number of features in which two configurations differ (a feature one has and the other lacks counts). */
function hamming(a: Int32Array, b: Int32Array): number {
  let d = 0;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) d++;
  return d;
}

/**
 * A measurement of another problem on the same device (earlier in the run, or in the database).
 * What a configuration did there beyond the prior's prediction, once that problem's own offset is
 * taken out, is partly the device's: a device the prior does not know makes the same kinds of
 * configurations faster or slower than predicted, problem after problem.
 */
export interface RelatedObservation {
  /** Which problem it measured: observations of one problem share their offset. */
  readonly group: string;
  /** That problem (how far its shape is from this one's, problemDistance, weakens what it says). */
  readonly problem?: ProblemRecord;
  readonly config: Config;
  /** The cost model's prediction for it, on this device. */
  readonly prior: Prediction;
  /** ln of its measured time, ms. */
  readonly logMs: number;
}

/**
 * Posterior mean and spread of every configuration's ln time given the problem's observations
 * and, when given, observations of other problems on the same device. Their residuals are
 * correlated with this problem's (`problem`) through a device term shared across problems: a
 * scale, a Hamming kernel over the configurations (deviceLengthScale) and a factor that fades with
 * the distance between the problems' shapes (what a device does differently on 56×56 planes it
 * may not do on 7×7 ones); within a problem, the offset and the residual kernel above apply as
 * they do to this one.
 */
export function problemPosterior(configs: readonly Config[], prior: readonly Prediction[], observed: readonly Observed[], options: Partial<PosteriorOptions> = {}, related: readonly RelatedObservation[] = [], problem?: ProblemRecord): Prediction[] {
  const o = { ...DEFAULT_POSTERIOR, ...options };
  const points = [...configs, ...related.map((r) => r.config)];
  const priors = [...prior, ...related.map((r) => r.prior)];
  const groups = [...configs.map(() => ''), ...related.map((r) => `related ${r.group}`)];
  const records = [...configs.map(() => problem), ...related.map((r) => r.problem)];
  const scale = priors.map((p) => Math.max(p.sd, o.sdFloor));
  const allObserved = [...observed, ...related.map((r, i) => ({ index: configs.length + i, logMs: r.logMs }))];
  if (allObserved.length === 0) return prior.map((p, i) => ({ mean: p.mean, sd: Math.sqrt(o.offsetSd ** 2 + scale[i]! ** 2) }));
  const feats = encodeFeatures(points);
  const profiles = priors.map((p) => p.profile);
  const correlation = (i: number, j: number, h: number) => {
    if (i === j) return 1;
    const a = profiles[i];
    const b = profiles[j];
    let dot = 0;
    if (a && b && a.length === b.length) for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
    return o.profileWeight * dot + (1 - o.profileWeight) * Math.exp(-h / o.lengthScale);
  };
  // The distance between two problems' shapes, once per pair of problems (not per pair of points).
  const groupIds = [...new Set(groups)];
  const groupOf = groups.map((g) => groupIds.indexOf(g));
  const recordOf = groupIds.map((g) => records[groups.indexOf(g)]);
  const distances = groupIds.map((_, a) =>
    groupIds.map((__, b) => {
      const x = recordOf[a];
      const y = recordOf[b];
      return a === b || !x || !y ? 0 : problemDistance(x, y);
    }),
  );
  const shapeDistance = (i: number, j: number) => distances[groupOf[i]!]![groupOf[j]!]!;
  // The parts of two points' covariance, their Hamming distance computed once for both kernels.
  const pair = (i: number, j: number): PairParts => {
    const h = hamming(feats[i]!, feats[j]!);
    return {
      within: groups[i] === groups[j] ? o.offsetSd ** 2 + scale[i]! * scale[j]! * correlation(i, j, h) : 0,
      kernel: Math.exp(-h / o.deviceLengthScale),
      distance: shapeDistance(i, j),
    };
  };
  const relatedIndices = related.map((_, i) => configs.length + i);
  const learned = () => {
    // It depends on the other problems' observations and the options alone: a search asks for
    // the posterior once per proposal with the same observations of other problems.
    const optionsKey = JSON.stringify(o);
    const cached = learnedDeviceTerms.get(related);
    if (cached?.options === optionsKey) return cached.term;
    const term = likeliestDeviceTerm(relatedIndices, (i) => related[i - configs.length]!.logMs - priors[i]!.mean, pair, o.noiseSd);
    learnedDeviceTerms.set(related, { options: optionsKey, term });
    return term;
  };
  const term: DeviceTerm = o.deviceSd === 'learned' ? learned() : { sd: o.deviceSd, shapeLengthScale: Infinity };
  const cov = (i: number, j: number) => {
    // Points of two problems share nothing but the device term.
    if (term.sd === 0 && groupOf[i] !== groupOf[j]) return 0;
    const p = pair(i, j);
    return (term.sd === 0 ? 0 : term.sd ** 2 * p.kernel * Math.exp(-p.distance / term.shapeLengthScale)) + p.within;
  };
  const n = allObserved.length;
  const K = allObserved.map((a, r) => allObserved.map((b, c) => cov(a.index, b.index) + (r === c ? o.noiseSd ** 2 : 0)));
  const factored = choleskySolver(K);
  const residual = allObserved.map((x) => x.logMs - priors[x.index]!.mean);
  const alpha = factored.solve(residual);
  // Covariances with the observations: one row per observation, one column per configuration.
  const cross = allObserved.map((x) => configs.map((_, i) => cov(i, x.index)));
  const explained = factored.quadraticForms(cross);
  return configs.map((_, i) => {
    let mean = prior[i]!.mean;
    for (let j = 0; j < n; j++) mean += cross[j]![i]! * alpha[j]!;
    const variance = cov(i, i) - explained[i]!;
    return { mean, sd: Math.sqrt(Math.max(variance, 1e-12)) };
  });
}

/** The device term learned from each list of other problems' observations (their likelihood under each choice is the costliest part of a posterior). */
const learnedDeviceTerms = new WeakMap<readonly RelatedObservation[], { readonly options: string; readonly term: DeviceTerm }>();

/** What two points' covariance is made of: their residual covariance within one problem (0 across problems), the device term's kernel over their configurations, their problems' distance. */
interface PairParts {
  readonly within: number;
  readonly kernel: number;
  readonly distance: number;
}

/** The device term's scale (ln units) and the problem distance over which it fades by e. */
interface DeviceTerm {
  readonly sd: number;
  readonly shapeLengthScale: number;
}

/**
 * The device term of DEVICE_SD_CHOICES × DEVICE_SHAPE_LENGTH_SCALES (or none) under which the
 * other problems' measurements (points `indices`, their residuals from the prior) are likeliest:
 * type-II maximum likelihood of the Gaussian process on them alone. Measurements of fewer than
 * two problems cannot tell a device's residual from a problem's own: none.
 */
function likeliestDeviceTerm(indices: readonly number[], residualOf: (i: number) => number, pair: (i: number, j: number) => PairParts, noiseSd: number): DeviceTerm {
  const none = { sd: 0, shapeLengthScale: Infinity };
  if (indices.length === 0) return none;
  const parts = indices.map((a) => indices.map((b) => pair(a, b)));
  if (!parts.some((row) => row.some((p) => p.within === 0))) return none;
  const residual = indices.map(residualOf);
  const likelihood = (t: DeviceTerm) => {
    const factored = choleskySolver(parts.map((row, r) => row.map((p, c) => p.within + t.sd ** 2 * p.kernel * Math.exp(-p.distance / t.shapeLengthScale) + (r === c ? noiseSd ** 2 : 0))));
    const alpha = factored.solve(residual);
    return -0.5 * residual.reduce((s, x, k) => s + x * alpha[k]!, 0) - 0.5 * factored.logDet();
  };
  let best: DeviceTerm = none;
  let bestLikelihood = likelihood(none);
  for (const sd of DEVICE_SD_CHOICES) {
    for (const shapeLengthScale of DEVICE_SHAPE_LENGTH_SCALES) {
      const l = likelihood({ sd, shapeLengthScale });
      if (l > bestLikelihood) {
        bestLikelihood = l;
        best = { sd, shapeLengthScale };
      }
    }
  }
  return best;
}
