/**
 * Winner selection with statistics. The fastest median is not automatically the winner: every
 * candidate that is not significantly slower than the fastest (Mann–Whitney U, p ≥ α, or a
 * bootstrap confidence interval of the median ratio reaching 1) or is practically equivalent
 * (median within TIE_MARGIN) is tied with it, and among the tied candidates practically
 * equivalent to the fastest the first in the caller's tie order wins (tune.ts tieOrder: fewest
 * threads, the cost model's favourite, simplest variant, smallest parameters). So a re-run does
 * not flip between candidates the data cannot tell apart, and the recorded confidence says how
 * sure the choice is. A candidate tied only because its timing is too imprecise to tell (a median
 * 10 % above the fastest's, with an interval reaching 1) stays declared tied but does not win on
 * the tie order (revalidate.ts does the same with the paired rounds).
 *
 * Unstable timings (too few clean samples, several modes, an interval wider than the target: see
 * harness/stability.ts) are never chosen over a stable candidate, unless they are surely faster
 * than every stable one even in their slower runs (surelyFasterThanStable). Ties are broken by
 * complexity and then by the configuration key, so every parameter, strings included, decides the
 * order and repeated tunes of the same problem agree.
 */
import { bootstrapMedianRatio, mannWhitneyU, quantile, thinSamples } from '../harness/stats.js';
import { compareComplexity, type Config } from './space.js';

export const TIE_ALPHA = 0.05;
/**
 * Practical equivalence: medians within this fraction of the fastest are tied even when a test
 * calls the difference significant (with many samples a 1 % difference can be "significant" and
 * still flip between runs on a shared machine).
 */
export const TIE_MARGIN = 0.03;

export interface Candidate {
  readonly key: string;
  readonly config: Config;
  readonly samples_ms: readonly number[];
  readonly source_hash?: string;
  /** False when the timing is unstable (absent: stable). */
  readonly stable?: boolean;
}

export interface Winner {
  readonly key: string;
  readonly config: Config;
  readonly median_ms: number;
  readonly source_hash?: string;
  readonly confidence: {
    /** The candidate with the lowest median. */
    readonly fastest: string;
    /** Candidates statistically tied with the fastest (the winner is the first of them in the tie order). */
    readonly tied: readonly string[];
    /** Winner vs fastest: two-sided Mann–Whitney p (1 when the winner is the fastest). */
    readonly p_value: number;
    /** 95 % bootstrap interval of median(winner) / median(fastest). */
    readonly ratio_ci: readonly [number, number];
    /** Fastest vs the best candidate that is not tied: one-sided p that the fastest is faster. */
    readonly p_vs_next: number | null;
    /** True when no candidate had a stable timing and the winner is the best of unstable ones. */
    readonly unstable?: boolean;
    /** Finalists re-measured side by side (interleaved rounds) before the winner was stored. */
    readonly revalidated?: {
      readonly candidates: readonly string[];
      readonly rounds: number;
      readonly changed: boolean;
      /** Finalists tied by the paired rounds: 95 % interval of their time over the fastest's. */
      readonly paired_ratio_ci?: Readonly<Record<string, readonly [number, number]>>;
      /**
       * Where the winner's median comes from: the side-by-side rounds (absent), or the median
       * over the processes that timed it side by side; either way its search-time measurement
       * where that was stable and faster (a disturbance only adds time: revalidate.ts).
       */
      readonly median_from?: 'search' | 'processes';
      /** How many processes timed the contenders side by side (this one and fresh ones: revalidate.ts FRESH_PROCESSES), where more than this one did. */
      readonly processes?: number;
      /** Contenders the processes could not tell from the fastest: 95 % interval of their time over the fastest's, across processes. */
      readonly process_ratio_ci?: Readonly<Record<string, readonly [number, number]>>;
      /**
       * The winner's median round in each process that timed it outside a core's slow phase
       * (this one first, where it did), of those rounds: its median is theirs, unless its search's
       * is lower (median_from). Their spread is one process's against another's within seconds;
       * over minutes the machine's speed may move the next run's time further (docs/tuner.md,
       * Measured).
       */
      readonly process_medians_ms?: readonly number[];
      /**
       * Processes that timed the winner only in a core's slow phase (the speed canary read slow
       * through every round: 1.3-2x slow), left out of its median and of process_medians_ms;
       * absent where none did, or where every process did (all of them count then).
       */
      readonly slow_phase_processes?: number;
      /**
       * Finalists whose side-by-side timing was unstable, and why (the first reason): an unstable
       * timing never wins over a stable one, so this is what a finalist faster than the winner lost on.
       */
      readonly unstable?: Readonly<Record<string, string>>;
      /** What a time limit cut from the re-timing (finalists, rounds, fresh processes), where it cut anything: revalidate.ts. */
      readonly time_limited?: string;
    };
  };
}

/**
 * Two tunes' winners agree when they are the same configuration or one tune declared the other's
 * winner tied with its own (measured it, and the data could not tell them apart): what
 * `dev/tune-stability.ts` counts in live databases and `neotune replay --noise` in replayed ones.
 */
export function sameOrTied(a: { readonly key: string; readonly tied: readonly string[] }, b: { readonly key: string; readonly tied: readonly string[] }): boolean {
  return a.key === b.key || a.tied.includes(b.key) || b.tied.includes(a.key);
}

/** Orders configurations by a tie order (complexityOf: lower first), then the key (covers string and boolean parameters). */
export function compareSimplicity(a: { key: string; config: Config }, b: { key: string; config: Config }, complexityOf: (c: Config) => number[]): number {
  return compareComplexity(complexityOf(a.config), complexityOf(b.config)) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The fastest of stable candidates by median (the first of equals), each median computed once; undefined for none. */
export function fastestStable(stable: readonly Candidate[]): Candidate | undefined {
  const medians = stable.map((c) => quantile(c.samples_ms, 0.5));
  return stable[medians.reduce((best, m, i) => (m < medians[best]! ? i : best), 0)];
}

/** At most this many samples per candidate enter the tests. */
const MAX_TEST_SAMPLES = 256;

/**
 * Unstable candidates that are surely faster than the fastest stable one, even in their slower
 * runs: their upper quartile is below 1 - TIE_MARGIN times its median, and the 95 % bootstrap
 * interval of their median's ratio to its median lies wholly below 1 - TIE_MARGIN. Most unstable timings on a noisy
 * machine are imprecise, not wrong (a median's interval a little wider than the target): a 2-thread
 * kernel timed at 0.0175 ms ± 3.8 % is faster than a stable 1-thread one at 0.0247 ms whatever its
 * imprecision. One that is fast half of the time and slow the other half stays set aside.
 */
function surelyFasterThanStable(candidates: readonly Candidate[], stable: readonly Candidate[]): Candidate[] {
  const reference = fastestStable(stable);
  if (!reference) return [];
  const ref = thinSamples(reference.samples_ms, MAX_TEST_SAMPLES);
  const bound = (1 - TIE_MARGIN) * quantile(ref, 0.5);
  return candidates.filter((c) => {
    if (c.stable !== false) return false;
    const own = thinSamples(c.samples_ms, MAX_TEST_SAMPLES);
    return quantile(own, 0.75) < bound && bootstrapMedianRatio(own, ref, { iterations: 500 }).hi < 1 - TIE_MARGIN;
  });
}

export function selectWinner(candidates: readonly Candidate[], complexityOf: (c: Config) => number[]): Winner | undefined {
  const withSamples = candidates.filter((c) => c.samples_ms.length > 0);
  const stable = withSamples.filter((c) => c.stable !== false);
  const timed = (stable.length ? [...stable, ...surelyFasterThanStable(withSamples, stable)] : withSamples).map((c) => ({ ...c, samples_ms: thinSamples(c.samples_ms, MAX_TEST_SAMPLES), median: quantile(c.samples_ms, 0.5) }));
  if (timed.length === 0) return undefined;
  const med = new Map(timed.map((c) => [c.key, c.median]));
  const sorted = [...timed].sort((a, b) => med.get(a.key)! - med.get(b.key)! || (a.key < b.key ? -1 : 1));
  const fastest = sorted[0]!;
  const tied: Candidate[] = [fastest];
  const stats = new Map<string, { p: number; ci: [number, number]; ratio: number }>();
  let firstUntied: Candidate | undefined;
  for (const c of sorted.slice(1)) {
    const u = mannWhitneyU(c.samples_ms, fastest.samples_ms);
    const r = bootstrapMedianRatio(c.samples_ms, fastest.samples_ms, { iterations: 500 });
    stats.set(c.key, { p: u.p, ci: [r.lo, r.hi], ratio: r.ratio });
    if (u.p >= TIE_ALPHA || r.lo <= 1 || r.ratio <= 1 + TIE_MARGIN) tied.push(c);
    else firstUntied ??= c;
  }
  const winner = tied.filter((c) => c === fastest || stats.get(c.key)!.ratio <= 1 + TIE_MARGIN).sort((a, b) => compareSimplicity(a, b, complexityOf))[0]!;
  const s = stats.get(winner.key);
  return {
    key: winner.key,
    config: winner.config,
    median_ms: med.get(winner.key)!,
    ...(winner.source_hash ? { source_hash: winner.source_hash } : {}),
    confidence: {
      fastest: fastest.key,
      tied: tied.map((c) => c.key),
      p_value: s?.p ?? 1,
      ratio_ci: s?.ci ?? [1, 1],
      p_vs_next: firstUntied ? mannWhitneyU(fastest.samples_ms, firstUntied.samples_ms).pLess : null,
      ...(stable.length ? {} : { unstable: true }),
    },
  };
}
