/**
 * Sequential paired comparison: the statistics behind `neotune compare --run` (the CI gate).
 *
 * Each round runs the base and the head once each, in fresh processes, in a random order; a
 * record's evidence is the series of paired differences d_r = log(head_r / base_r), one per round.
 * Pairing cancels what hits both sides of a round alike (the machine slowing down for a minute);
 * fresh processes put what differs between processes (placement, tier-up, the other core's load)
 * into the spread of d, where the interval sees it.
 *
 * After each round of a fixed schedule of looks, every undecided record gets an interval for the
 * centre of d at a level that pays for all looks and all records at once (Bonferroni:
 * α / (looks × records) on each side). So the chance that *any* record of the suite is ever
 * declared regressed (or improved) when nothing changed is at most α, however many rounds the run
 * takes; that is what lets the runner stop each record as soon as its interval is decisive:
 *   regressed  the whole interval above +¼·threshold (surely slower, by more than a quarter of it)
 *   improved   the whole interval below −¼·threshold
 *   unchanged  the whole interval inside ±threshold (reported with the resolution reached: the
 *              largest change the interval still allows)
 * A record none of these fits when the schedule or the time budget ends is `inconclusive`.
 * A slowdown of the full threshold is never "unchanged" (the interval would have to miss it), and
 * is "regressed" as soon as the interval is narrower than ¾ of the threshold.
 *
 * The interval is Yuen's for the 20 % trimmed mean (winsorised variance, n − 2g − 1 degrees of
 * freedom): on this machine about one round in ten runs 1.2–1.5× slower on one side, and a plain
 * t interval, widened by each such round, decided a true 5 % slowdown in 6–15 % of simulated runs
 * where the trimmed one decided it in 99 % (docs/regressions.md).
 */
import jstat from 'jstat';
import { InputError } from '../core/errors.js';

export type SequentialDecision = 'regressed' | 'improved' | 'unchanged' | 'inconclusive';

export interface SequentialPlan {
  /** The slowdown the gate must catch, as a fraction (0.05 = 5 %). */
  readonly threshold: number;
  /** Suite-wide false-alarm rate: P(any record declared regressed or improved | nothing changed) ≤ α. */
  readonly alpha: number;
  /** How many records share α. */
  readonly records: number;
  /** The rounds after which decisions are taken (increasing); the last is the most rounds run. */
  readonly looks: readonly number[];
}

/** Looks at minRounds, then every ×1.4 more rounds, up to maxRounds (always a look). */
export function lookSchedule(minRounds: number, maxRounds: number): number[] {
  if (!Number.isInteger(minRounds) || minRounds < 3) throw new InputError('min-rounds', minRounds, 'an integer ≥ 3 (a paired interval needs a spread)');
  if (!Number.isInteger(maxRounds) || maxRounds < minRounds) throw new InputError('max-rounds', maxRounds, `an integer ≥ min-rounds (${minRounds})`);
  const looks: number[] = [];
  // (a look only a few rounds before the last would spend α for little)
  for (let n = minRounds; n * 1.2 < maxRounds; n = Math.max(n + 1, Math.round(n * 1.4))) looks.push(n);
  looks.push(maxRounds);
  return looks;
}

export interface SequentialVerdict {
  readonly decision: SequentialDecision;
  /** exp(trimmed mean of d): the head's time over the base's. */
  readonly ratio: number;
  /** The interval of the ratio at the suite-wide level (absent with fewer than 2 rounds). */
  readonly ci?: readonly [number, number];
  /** The largest change the interval still allows, |ratio − 1| at its farther end (for "unchanged within ±x"). */
  readonly resolution?: number;
  readonly rounds: number;
}

/** The one-sided level each record's interval is taken at, on each side, at one look. */
export function perLookLevel(plan: SequentialPlan): number {
  return plan.alpha / (2 * Math.max(1, plan.records) * plan.looks.length);
}

/** The fraction trimmed from each end of the paired differences. */
const TRIM = 0.2;

/**
 * Yuen's trimmed mean: the mean of the middle values (g = ⌊trim·n⌋ cut from each end), its
 * standard error from the winsorised variance, and n − 2g − 1 degrees of freedom.
 */
export function trimmedMean(x: readonly number[], trim: number): { centre: number; se: number; df: number } {
  const n = x.length;
  const s = [...x].sort((a, b) => a - b);
  const g = Math.floor(trim * n);
  const h = n - 2 * g;
  const centre = s.slice(g, n - g).reduce((a, b) => a + b, 0) / h;
  const w = s.map((v, i) => (i < g ? s[g]! : i >= n - g ? s[n - g - 1]! : v));
  const wm = w.reduce((a, b) => a + b, 0) / n;
  const sw2 = w.reduce((a, v) => a + (v - wm) ** 2, 0) / (n - 1);
  return { centre, se: Math.sqrt((sw2 * (n - 1)) / (h * (h - 1))), df: h - 1 };
}

/** The verdict on a record's paired log differences after `diffs.length` rounds (a look of the plan or the last round run). */
export function sequentialVerdict(diffs: readonly number[], plan: SequentialPlan): SequentialVerdict {
  const n = diffs.length;
  if (n < 2) return { decision: 'inconclusive', ratio: Math.exp(n ? diffs[0]! : 0), rounds: n };
  const ratio = Math.exp(trimmedMean(diffs, TRIM).centre);
  const { centre, se, df } = trimmedMean(diffs, TRIM);
  const half = jstat.jStat.studentt.inv(1 - perLookLevel(plan), df) * se;
  const lo = centre - half;
  const hi = centre + half;
  const ci = [Math.exp(lo), Math.exp(hi)] as const;
  const resolution = Math.max(Math.abs(ci[0] - 1), Math.abs(ci[1] - 1));
  const margin = Math.log1p(plan.threshold / 4);
  const decision: SequentialDecision =
    lo > margin ? 'regressed' : hi < -margin ? 'improved' : lo > -Math.log1p(plan.threshold) && hi < Math.log1p(plan.threshold) ? 'unchanged' : 'inconclusive';
  return { decision, ratio, ci, resolution, rounds: n };
}

/** One record's rounds: the base's and head's medians, paired by round. */
export interface PairedSeries {
  readonly base_ms: number[];
  readonly head_ms: number[];
}

/** The paired log differences of a series (rounds where either side has no median are skipped). */
export function pairedDiffs(s: PairedSeries): number[] {
  const d: number[] = [];
  for (let i = 0; i < Math.min(s.base_ms.length, s.head_ms.length); i++) {
    const b = s.base_ms[i]!;
    const h = s.head_ms[i]!;
    if (b > 0 && h > 0 && Number.isFinite(b) && Number.isFinite(h)) d.push(Math.log(h / b));
  }
  return d;
}

/**
 * The sequential procedure over a suite: records decided at a look keep their verdict; the others
 * are looked at again at the next look. `round()` runs one round and returns, per record key, the
 * base and head medians of that round; the first round is asked for every record (`undecided`
 * undefined) and the records it measured on both sides are the suite (`keys`: the plan's record
 * count for the suite-wide level). The loop ends when every record is decided, at the last look,
 * or when `timeLeft()` says no further round fits.
 */
export async function runSequential(
  looks: Omit<SequentialPlan, 'records'>,
  round: (index: number, undecided: ReadonlySet<string> | undefined) => Promise<ReadonlyMap<string, { base_ms?: number; head_ms?: number }>>,
  timeLeft: () => boolean,
  onLook?: (rounds: number, verdicts: ReadonlyMap<string, SequentialVerdict>) => void,
): Promise<{ keys: string[]; verdicts: Map<string, SequentialVerdict>; series: Map<string, PairedSeries>; rounds: number; stopped: 'decided' | 'schedule' | 'time' }> {
  const first = await round(0, undefined);
  const keys = [...first].filter(([, r]) => r.base_ms !== undefined && r.head_ms !== undefined).map(([k]) => k).sort();
  const plan: SequentialPlan = { ...looks, records: keys.length };
  const series = new Map(keys.map((k) => [k, { base_ms: [] as number[], head_ms: [] as number[] }]));
  const verdicts = new Map<string, SequentialVerdict>();
  const last = plan.looks[plan.looks.length - 1]!;
  const lookAt = new Set(plan.looks);
  let rounds = 0;
  const undecided = () => new Set(keys.filter((k) => !verdicts.has(k) || verdicts.get(k)!.decision === 'inconclusive'));
  let stopped: 'decided' | 'schedule' | 'time' = 'schedule';
  while (rounds < last) {
    if (rounds > 0 && !timeLeft()) {
      stopped = 'time';
      break;
    }
    const open = undecided();
    const got = rounds === 0 ? first : await round(rounds, open);
    rounds++;
    for (const k of open) {
      const s = series.get(k)!;
      const r = got.get(k);
      // A round is paired or it is not used: both sides or neither.
      if (r?.base_ms !== undefined && r.head_ms !== undefined) {
        s.base_ms.push(r.base_ms);
        s.head_ms.push(r.head_ms);
      }
    }
    if (lookAt.has(rounds)) {
      for (const k of open) verdicts.set(k, sequentialVerdict(pairedDiffs(series.get(k)!), plan));
      onLook?.(rounds, verdicts);
      if (undecided().size === 0) {
        stopped = 'decided';
        break;
      }
    }
  }
  // A run the time budget stopped between looks takes one last look now: the looks it skipped
  // left their share of α unspent, so one more look stays within the plan's error rate.
  const final = undecided();
  if (stopped === 'time' && !lookAt.has(rounds)) {
    for (const k of final) verdicts.set(k, sequentialVerdict(pairedDiffs(series.get(k)!), plan));
    onLook?.(rounds, verdicts);
  }
  for (const k of final) if (!verdicts.has(k)) verdicts.set(k, sequentialVerdict(pairedDiffs(series.get(k)!), plan));
  return { keys, verdicts, series, rounds, stopped };
}
