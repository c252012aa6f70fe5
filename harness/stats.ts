/** Small, pure statistics helpers shared by the harness, the tuner and comparisons. */
import { Rng } from '../core/rng.js';

/** The arithmetic mean (NaN for no values). */
export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Linear-interpolated quantile q ∈ [0, 1] of unsorted values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  return sortedQuantile([...values].sort((a, b) => a - b), q);
}

/** quantile() of values already sorted ascending (no copy, no sort). */
export function sortedQuantile(s: readonly number[], q: number): number {
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  // Equal neighbours (two Infinity, "never", included) are their own quantile: no ∞ − ∞.
  if (s[hi] === s[lo]) return s[lo]!;
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

function ranks(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const idx = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]![1]] = r;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  return { ranks: out, tieTerm };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Mann–Whitney U test of a against b (two-sided), normal approximation with tie and continuity
 * correction (the sample sizes here are ≥ 10). `pLess`: one-sided p that a tends to be smaller.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): { u: number; z: number; p: number; pLess: number } {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, z: NaN, p: 1, pLess: 1 };
  const { ranks: r, tieTerm } = ranks([...a, ...b]);
  const r1 = r.slice(0, n1).reduce((s, x) => s + x, 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, p: 1, pLess: 0.5 };
  const sd = Math.sqrt(variance);
  const z = (u - mean) / sd;
  const zc = (Math.abs(u - mean) - 0.5) / sd;
  return { u, z, p: Math.min(1, 2 * (1 - normalCdf(Math.max(0, zc)))), pLess: normalCdf((u - mean + 0.5) / sd) };
}

/**
 * Percentile-bootstrap confidence interval of median(a) / median(b), resampling both sets with a
 * seeded generator (deterministic for the same inputs).
 */
export function bootstrapMedianRatio(a: readonly number[], b: readonly number[], opts: { iterations?: number; confidence?: number; seed?: number } = {}): { ratio: number; lo: number; hi: number } {
  const iterations = opts.iterations ?? 2000;
  const alpha = 1 - (opts.confidence ?? 0.95);
  const rng = new Rng(opts.seed ?? 12345);
  const resampledMedian = (x: readonly number[]) => {
    const r = new Array<number>(x.length);
    for (let i = 0; i < x.length; i++) r[i] = x[Math.floor(rng.next() * x.length)]!;
    return quantile(r, 0.5);
  };
  const ratios: number[] = [];
  for (let i = 0; i < iterations; i++) ratios.push(resampledMedian(a) / resampledMedian(b));
  return { ratio: quantile(a, 0.5) / quantile(b, 0.5), lo: quantile(ratios, alpha / 2), hi: quantile(ratios, 1 - alpha / 2) };
}

/**
 * Distribution-free confidence interval of the median from order statistics (binomial ranks,
 * normal approximation): no assumption about the timing distribution's shape.
 */
export function medianInterval(values: readonly number[], confidence = 0.95): { median: number; lo: number; hi: number } {
  const s = [...values].sort((x, y) => x - y);
  const n = s.length;
  if (n === 0) return { median: NaN, lo: NaN, hi: NaN };
  const z = confidence >= 0.99 ? 2.576 : confidence >= 0.95 ? 1.96 : 1.645;
  const half = (z * Math.sqrt(n)) / 2;
  const lo = Math.max(0, Math.floor(n / 2 - half));
  const hi = Math.min(n - 1, Math.ceil(n / 2 + half) - 1);
  return { median: quantile(s, 0.5), lo: s[lo]!, hi: s[Math.max(lo, hi)]! };
}

/**
 * At most `max` samples in an even stride (fast kernels give thousands of samples; the tests and
 * bootstraps above cost O(n log n) per call and gain nothing from more).
 */
export function thinSamples(samples: readonly number[], max: number): readonly number[] {
  if (samples.length <= max) return samples;
  const step = samples.length / max;
  return Array.from({ length: max }, (_, i) => samples[Math.floor(i * step)]!);
}

/** Student's t 97.5 % quantile (table, linear in 1/df between entries). */
export function tQuantile975(df: number): number {
  const table: [number, number][] = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [6, 2.447], [8, 2.306], [10, 2.228], [15, 2.131], [20, 2.086], [30, 2.042], [60, 2.0], [120, 1.98]];
  if (!(df >= 1)) return table[0]![1];
  for (let i = 1; i < table.length; i++) {
    const [d1, t1] = table[i - 1]!;
    const [d2, t2] = table[i]!;
    if (df <= d2) return t1 + ((1 / df - 1 / d1) / (1 / d2 - 1 / d1)) * (t2 - t1);
  }
  return 1.96;
}
