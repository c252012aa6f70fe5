/**
 * Winners re-validated side by side. During the search each candidate is timed once, at its own
 * moment; on a shared machine a candidate can look fastest because the machine was quiet just
 * then. Before a winner is stored, it and every candidate statistically tied with it or within
 * closeMargin of the fastest are opened again (verified again) and measured in interleaved rounds
 * (A B C, C B A, …, as asv and Helion do), so drift on the machine hits all of them alike; the
 * winner is chosen again from those samples, and a finalist the paired rounds cannot tell from
 * the fastest (beyond TIE_MARGIN) is tied with it: of the tied finalists within TIE_MARGIN of the
 * fastest by the rounds, the first in the tie order wins. Each
 * finalist's turn waits (briefly) for the speed canary to read fast, so a core's slow phase does
 * not fall on one finalist's turn alone (where the machine stays slow, the waits back off:
 * harness/timing.ts waitForFastPhase).
 */
import { createKernel } from '../harness/compile.js';
import { measureKernel, prepareAndVerify, timingFields } from '../harness/evaluate.js';
import { DEFAULT_TARGET_REL, MIN_CLEAN_SAMPLES, takenInSlowPhase } from '../harness/stability.js';
import { waitForFastPhase } from '../harness/timing.js';
import { mean, quantile, tQuantile975 } from '../harness/stats.js';
import type { BackendSession, KernelInstance, KernelVariant, Problem, ProblemData, SampleEvidence } from '../harness/types.js';
import type { DbEntry } from './db-model.js';
import { complexity, type Config } from './space.js';
import { type Candidate, compareSimplicity, fastestStable, selectWinner, TIE_MARGIN, type Winner } from './winner.js';

/**
 * Finalists: up to maxFinalists candidates within closeMargin of the fastest. The margin is wide
 * because each candidate was timed at its own moment during the search: on a shared machine a
 * candidate timed during a slow spell looks 10–20 % slower than it is. Then up to
 * maxSlowFinalists within slowMargin of it whose timing the speed canary saw wholly in a slow
 * phase (finalistKeys).
 *
 * Twelve finalists, not six: where many configurations are close, the six a search's noisy
 * single timings put first are a lottery, and two tunes then re-time different ones. Replayed
 * with 5 % timing noise (`neotune replay --hub --noise 5`, 30 evaluations, 8-10 seeds), the pairs
 * of tunes whose winners were the same or tied went from 74 % to 91 % on the AMD hub and from
 * 63 % to 81 % on the Xeon hold-out (14 finalists: 94 % and 85 %); after 10 evaluations, 93 % to
 * 96 % and 65-66 %. Each finalist costs its rounds: 6 × 40 ms.
 */
export const REVALIDATION = { rounds: 6, roundMs: 40, maxFinalists: 12, closeMargin: 0.25, slowMargin: 1, maxSlowFinalists: 2 } as const;

/**
 * Finalists re-timed in fresh processes: on the 2-core Xeon VM, four T stage 3 kernels measured
 * side by side and re-opened six times in one process kept their ratios to one another within
 * 1-2 % from one sitting to the next, but from one process to the next one kernel's ratio to
 * another moved from 0.97 to 1.13 (T stage 4: 0.93 to 1.41). So rounds in the tune's own process,
 * however many, measure that process: two tunes then each call a different kernel significantly
 * faster, and the next run (a new process, what a user sees) may disagree with both. The
 * contenders (within `margin` of the fastest by the tune's rounds, as wide as that process bias;
 * at most `maxFinalists`) are timed again side by side in `count` new processes (after `discardRounds` warm-up rounds); each
 * process, the tune's own included, gives one mean log ratio per contender, and the verdict is
 * drawn across processes (fresh-process.ts starts them; where none can be started, as in the
 * tuning page, the tune's own rounds decide). More processes of fewer rounds (three or four of
 * two kept rounds) were tried on that VM, 2026-12-07, in three batches one after another: they cost
 * a quick tune of NeoNeXt-T the same (168-188 s each, its 3-minute limit reached with four and
 * with two) and agreed no better (91 % and 95 % of pairs the same or tied; two: 97 %); the processes of
 * one tune timed its winner within 2-4 % of one another, where the tunes, minutes apart, differed
 * by 5-10 %: what moves the winner's median from one tune to the next is the machine over
 * minutes, which no number of processes within a tune averages out.
 */
export const FRESH_PROCESSES = { count: 2, maxFinalists: 5, margin: 0.15, rounds: 4, roundMs: 30, discardRounds: 1 } as const;

/** A finalist to measure: its database key, configuration and generated code's hash. */
export interface FinalistEntry {
  readonly key: string;
  readonly config: Config;
  readonly source_hash?: string | null;
}

/** How a side-by-side measurement runs: interleaved rounds of roundMs per finalist, the first discardRounds of them warm-up (not kept). */
export interface SideBySideOptions {
  readonly rounds: number;
  readonly roundMs: number;
  readonly discardRounds?: number;
  /** No round starts after this time (performance.now() clock) once MIN_KEPT_ROUNDS are kept. */
  readonly deadline?: number;
}

/** Kept rounds a side-by-side measurement has before a deadline may stop it: the fewest pairedTies judges. */
export const MIN_KEPT_ROUNDS = 3;

/**
 * What re-timing costs, to fit it in a problem's share of a time limit (measured on the 2-core
 * VMs: opening and verifying a finalist again about 60 ms; a finalist's 40-ms turn 60-70 ms with
 * its canary readings and the wait for a fast phase; a fresh process about 0.5 s to start and
 * open its backend).
 */
const COST = { verifyMs: 60, turnOverRoundMs: 1.6, processStartMs: 500 } as const;

/** The most finalists whose shortest side-by-side measurement (MIN_KEPT_ROUNDS rounds) fits in `leftMs`: at least 3, the fastest of them and the winner. */
export function finalistsThatFit(leftMs: number): number {
  const each = COST.verifyMs + MIN_KEPT_ROUNDS * COST.turnOverRoundMs * REVALIDATION.roundMs;
  return Math.max(3, Math.floor(leftMs / each));
}

/** Whether FRESH_PROCESSES.count fresh processes timing `contenders` fit in `leftMs`, a turn there costing `turnMs` for each roundMs of the tune's own (as its own rounds took). */
export function freshProcessesFit(leftMs: number, contenders: number, turnMs: number): boolean {
  const { count, rounds, discardRounds, roundMs } = FRESH_PROCESSES;
  const each = COST.processStartMs + contenders * (COST.verifyMs + (rounds + discardRounds) * turnMs * (roundMs / REVALIDATION.roundMs));
  return count * each <= leftMs;
}

/** A finalist's rounds from another process: its key and each kept round's median. */
export interface RoundsElsewhere {
  readonly key: string;
  readonly rounds: readonly number[];
  /** Whether each round was timed in a core's slow phase (SideBySide.slowRounds); absent: none was. */
  readonly slow?: readonly boolean[];
}

/**
 * Measures finalists side by side in a process of their own, opened for this (fresh-process.ts);
 * resolves to the finalists it verified and measured ([] where it could not: the tune goes on
 * with what it has).
 */
export type SideBySideElsewhere = (entries: readonly FinalistEntry[], o: SideBySideOptions) => Promise<RoundsElsewhere[]>;

/** The longest a finalist's turn waits for the speed canary to read fast (a slow phase lasts 20 ms to minutes). */
const PHASE_WAIT_MS = 200;

/** A configuration measured side by side with others. */
export interface SideBySide {
  readonly key: string;
  readonly config: Config;
  readonly source_hash?: string;
  readonly samples: number[];
  readonly evidence: SampleEvidence[];
  /** Median of each round's clean samples (the rounds pair the finalists: measured back to back). */
  readonly rounds: number[];
  /** Each kept turn's wall time, ms: its roundMs of samples, its canary readings and its wait for a fast phase (what another turn will cost). */
  readonly turnsMs: number[];
  /**
   * Whether each kept round was timed in a core's slow phase: the speed canary (its fastest
   * remembered across processes) read slow through it, so its samples were kept for want of
   * clean ones (takenInSlowPhase) and time the kernel 1.3-2x slow.
   */
  readonly slowRounds: boolean[];
  method: string;
}

/** d_r = log(median_r(f) / median_r(fastest)) for every round both ran. */
function roundLogRatios(fastest: readonly number[], rounds: readonly number[]): number[] {
  return rounds.map((m, r) => Math.log(m / fastest[r]!)).filter(Number.isFinite);
}

/** The ratio exp(mean d) of log ratios d and its 95 % t-interval (at least two of them). */
function ratioInterval(d: readonly number[]): { ratio: number; ci: [number, number] } {
  const m = mean(d);
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1));
  const half = (tQuantile975(d.length - 1) * sd) / Math.sqrt(d.length);
  return { ratio: Math.exp(m), ci: [Math.exp(m - half), Math.exp(m + half)] };
}

/** A finalist's time over the fastest's from their paired rounds: the geometric mean of the round-by-round ratios (NaN with no round in common). */
export function pairedRatio(fastest: readonly number[], rounds: readonly number[]): number {
  const d = roundLogRatios(fastest, rounds);
  return Math.exp(mean(d));
}

/**
 * Finalists the paired rounds cannot tell from the fastest: in round r every finalist ran back to
 * back, so d_r = log(median_r(f) / median_r(fastest)) cancels the machine's drift between rounds;
 * f is tied unless the 95 % interval of the mean d_r lies wholly above log(1 + TIE_MARGIN).
 */
export function pairedTies(fastest: readonly number[], others: ReadonlyMap<string, readonly number[]>): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const [key, rounds] of others) {
    const d = roundLogRatios(fastest, rounds);
    if (d.length < 3) continue;
    const { ci } = ratioInterval(d);
    if (ci[0] <= 1 + TIE_MARGIN) out.set(key, ci);
  }
  return out;
}

/** One process's side-by-side rounds: each finalist's round medians, rounds paired by index (measured back to back). */
export type ProcessRounds = ReadonlyMap<string, readonly number[]>;

/** The verdict on contenders timed side by side in several processes (acrossProcesses). */
export interface AcrossProcesses {
  /** The contender with the lowest mean log time over all processes. */
  readonly fastest: string;
  /** Each contender's time over the fastest's: the geometric mean over processes of its paired ratio in each (contenders measured in at least two). */
  readonly ratio: ReadonlyMap<string, number>;
  /** Contenders the processes cannot tell from the fastest (the 95 % interval over processes reaching 1 + TIE_MARGIN), with that interval. */
  readonly tied: ReadonlyMap<string, [number, number]>;
}

/** Mean of log(f / g) over the rounds of one process both ran (NaN where either is missing). */
function meanLogRatio(p: ProcessRounds, f: string, g: string): number {
  const [a, b] = [p.get(f), p.get(g)];
  if (!a || !b) return NaN;
  return mean(roundLogRatios(b, a));
}

/**
 * Contenders judged across processes: in each process their paired rounds give one mean log
 * ratio per contender (the process's own bias is in it, whatever the rounds), and these are the
 * samples: the fastest is the lowest mean over processes, and a contender is tied with it unless
 * the 95 % t-interval of its per-process ratios lies wholly above 1 + TIE_MARGIN. `keys[0]` is
 * the reference every process must have measured (processes without it are left out); undefined
 * with fewer than two processes.
 */
export function acrossProcesses(processes: readonly ProcessRounds[], keys: readonly string[]): AcrossProcesses | undefined {
  const ref = keys[0];
  const usable = processes.filter((p) => ref !== undefined && p.has(ref));
  if (usable.length < 2) return undefined;
  const perProcess = (f: string, g: string) => usable.map((p) => meanLogRatio(p, f, g)).filter(Number.isFinite);
  const score = new Map<string, number>();
  for (const k of keys) {
    const d = perProcess(k, ref!);
    if (d.length >= 2) score.set(k, mean(d));
  }
  if (score.size < 2) return undefined;
  const fastest = [...score].reduce((best, x) => (x[1] < best[1] ? x : best))[0];
  const ratio = new Map<string, number>([[fastest, 1]]);
  const tied = new Map<string, [number, number]>();
  for (const k of score.keys()) {
    if (k === fastest) continue;
    const d = perProcess(k, fastest);
    if (d.length < 2) continue;
    const r = ratioInterval(d);
    ratio.set(k, r.ratio);
    if (r.ci[0] <= 1 + TIE_MARGIN) tied.set(k, r.ci);
  }
  return { fastest, ratio, tied };
}

/**
 * The close finalists of a search, as every re-validation picks them (finalistKeys here, the
 * replay's chosenWinner): those timed within closeMargin of `fastest` and those `tied` with the
 * winner, fastest first, at most maxFinalists; the winner itself is never the one cut.
 */
export function closeFinalists<T>(timed: readonly T[], ms: (t: T) => number, fastest: number, o: { readonly tied?: (t: T) => boolean; readonly winner?: (t: T) => boolean } = {}): T[] {
  const close = timed.filter((t) => o.tied?.(t) || ms(t) <= (1 + REVALIDATION.closeMargin) * fastest).sort((a, b) => ms(a) - ms(b));
  const kept = close.slice(0, REVALIDATION.maxFinalists);
  const own = o.winner && close.find(o.winner);
  if (own && !kept.includes(own)) kept[kept.length - 1] = own;
  return kept;
}

/**
 * The finalists' database keys: the winner, its ties, and candidates close to the fastest, fastest
 * first; then up to maxSlowFinalists candidates timed wholly in a core's slow phase (the speed
 * canary said so: takenInSlowPhase) within 1 + slowMargin of the fastest. A slow phase slows a kernel
 * 1.3-1.8x, so such a time says little: a cell's best configuration, met by one, would otherwise
 * be dismissed on it (and a model-based search, steered away from it, measures others). Where a
 * cost model `predicted` their times, its favourites among them come first: in a noisy spell a
 * tune times many candidates wholly in slow phases (AMD EPYC VM, 2026-12-07: up to 15 per
 * problem), and their slow times order them by the phase each met (T stage 3's best, the model's
 * first choice, timed 1.6x slow, was left out behind two others, and the winner was 1.16 of the
 * best).
 */
export function finalistKeys(winner: Winner, entry: DbEntry, current: ReadonlySet<string>, predicted?: (c: Config) => number | undefined): string[] {
  const timed = Object.entries(entry.candidates).filter(([k, c]) => current.has(k) && c.state === 'verified' && c.median_ms !== undefined);
  const stable = timed.filter(([, c]) => c.quality?.stable !== false);
  // Unstable candidates close to the fastest stable one are finalists too: measured again, side
  // by side, they may well be stable (and faster) now.
  const fastest = Math.min(...(stable.length ? stable : timed).map(([, c]) => c.median_ms!));
  const tied = new Set([winner.key, ...winner.confidence.tied]);
  const keys = closeFinalists(timed, ([, c]) => c.median_ms!, fastest, { tied: ([, c]) => tied.has(c.key), winner: ([, c]) => c.key === winner.key }).map(([k]) => k);
  // The model's favourites first (those it predicts nothing for after them), then by their time.
  const rank = ([, c]: (typeof timed)[number]) => predicted?.(c.config) ?? Infinity;
  const slowPhase = timed
    .filter(([k, c]) => !keys.includes(k) && takenInSlowPhase(c.quality) && c.median_ms! <= (1 + REVALIDATION.slowMargin) * fastest)
    .sort((a, b) => (rank(a) === rank(b) ? a[1].median_ms! - b[1].median_ms! : rank(a) - rank(b)))
    .slice(0, REVALIDATION.maxSlowFinalists);
  return [...keys, ...slowPhase.map(([k]) => k)];
}

/**
 * Opens each configuration again, verifies it against the reference again, and measures them all
 * in `rounds` interleaved rounds (rotated, reversed every other round: nobody always runs first or
 * right after another), after `discardRounds` rounds measured the same way and not kept; past
 * `deadline`, once MIN_KEPT_ROUNDS are kept, no further round starts. A configuration that no
 * longer opens or verifies is left out.
 */
export async function measureSideBySide(
  entries: readonly FinalistEntry[],
  variants: readonly KernelVariant[],
  session: BackendSession,
  problem: Problem,
  data: ProblemData,
  o: SideBySideOptions,
): Promise<SideBySide[]> {
  const byName = new Map(variants.map((v) => [v.name, v]));
  const finalists: (SideBySide & { kernel: KernelInstance })[] = [];
  try {
    for (const c of entries) {
      const variant = byName.get(c.config.variant);
      if (!variant) continue;
      let kernel: KernelInstance | undefined;
      try {
        kernel = await createKernel(variant, problem, c.config.params, session);
        if (!(await prepareAndVerify(kernel, data)).ok) throw new Error('mismatch');
        finalists.push({ key: c.key, config: c.config, ...(c.source_hash ? { source_hash: c.source_hash } : {}), kernel, samples: [], evidence: [], rounds: [], turnsMs: [], slowRounds: [], method: '' });
      } catch {
        await kernel?.dispose();
      }
    }
    if (finalists.length < 2) return finalists;
    const discard = o.discardRounds ?? 0;
    for (let round = 0; round < discard + o.rounds; round++) {
      if (o.deadline !== undefined && round >= discard + MIN_KEPT_ROUNDS && performance.now() >= o.deadline) break;
      const order = finalists.map((_, i) => finalists[(i + round) % finalists.length]!);
      if (round % 2 === 1) order.reverse();
      for (const f of order) {
        // Each finalist's turn starts outside a core's slow phase where one ends within a few rounds' time.
        const turnStart = performance.now();
        if (f.kernel.canary) await waitForFastPhase(f.kernel.canary, turnStart + PHASE_WAIT_MS);
        const t = await measureKernel(f.kernel, { timeMs: o.roundMs, minSamples: 5, warmupMs: round === 0 ? 20 : 0 });
        if (round < discard) continue;
        f.turnsMs.push(performance.now() - turnStart);
        f.samples.push(...t.samples_ms);
        f.evidence.push(...(t.evidence ?? []));
        const timed = timingFields(t, DEFAULT_TARGET_REL);
        f.rounds.push(timed.median_ms!);
        f.slowRounds.push(takenInSlowPhase(timed.quality));
        f.method = t.method;
      }
    }
    return finalists;
  } finally {
    for (const f of finalists) await f.kernel.dispose();
  }
}

/**
 * The re-timed winner; where a time limit left no room for the fresh processes in the problem's
 * share, `later` runs them when the other problems are tuned, if they fit before `until` then, and
 * resolves to the winner decided across processes (undefined where they do not fit).
 */
export interface Revalidated {
  readonly winner: Winner;
  readonly later?: (until: number) => Promise<Winner | undefined>;
}

export interface RevalidateOptions {
  /** The order ties are broken in (tune.ts tieOrder); the simplest first by default. */
  readonly order?: (c: Config) => number[];
  /** Where contenders are timed again in fresh processes (FRESH_PROCESSES); without it, the tune's own rounds decide. */
  readonly elsewhere?: SideBySideElsewhere;
  /**
   * Where this problem's share of a time limit ends (performance.now() clock): the re-timing fits
   * in what is left, with fewer finalists (the fastest by the search, and the winner), fewer rounds
   * (at least MIN_KEPT_ROUNDS) and no fresh processes where they do not fit (`later` may run them
   * once the other problems are tuned), and says so (`time_limited`). Without it, the re-timing is
   * as REVALIDATION and FRESH_PROCESSES say.
   */
  readonly deadline?: number;
  /** The cost model's predicted time of a configuration, where the tune has one (finalistKeys). */
  readonly predicted?: (c: Config) => number | undefined;
}

export async function revalidateWinner(
  winner: Winner,
  entry: DbEntry,
  variants: readonly KernelVariant[],
  current: ReadonlySet<string>,
  session: BackendSession,
  problem: Problem,
  data: ProblemData,
  options: RevalidateOptions = {},
): Promise<Revalidated> {
  const { order = (c: Config) => complexity(variants, c), elsewhere, deadline, predicted } = options;
  const all = finalistKeys(winner, entry, current, predicted);
  const start = performance.now();
  const fit = deadline === undefined ? all.length : finalistsThatFit(deadline - start);
  const keys = fit >= all.length ? all : [...all.slice(0, fit - 1), all.slice(fit - 1).includes(winner.key) ? winner.key : all[fit - 1]!];
  if (keys.length < 2) return { winner };
  const finalists = await measureSideBySide(
    keys.map((k) => entry.candidates[k]!),
    variants,
    session,
    problem,
    data,
    { ...REVALIDATION, ...(deadline !== undefined ? { deadline } : {}) },
  );
  if (finalists.length < 2) return { winner };
  const rounds = finalists[0]!.rounds.length;
  // A turn's cost as the rounds measured it (the wait for a fast phase included, the verifying not:
  // freshProcessesFit counts that apart): what a fresh process's turns will cost.
  const turns = finalists.flatMap((f) => f.turnsMs);
  const turnMs = turns.reduce((a, b) => a + b, 0) / turns.length;
  const unstable: Record<string, string> = {};
  const imprecise = new Set<string>();
  const pooled: Candidate[] = finalists.map((f) => {
    const evidence = f.evidence.length === f.samples.length ? f.evidence : undefined;
    const t = timingFields({ samples_ms: f.samples, method: f.method, ...(evidence ? { evidence } : {}) }, DEFAULT_TARGET_REL);
    if (t.quality?.stable === false) unstable[f.key] = t.quality.reasons[0] ?? 'unstable';
    // Unstable for its median's interval alone: one mode, enough clean samples.
    if (t.quality?.stable === false && t.quality.shape !== 'bimodal' && t.quality.n_clean >= MIN_CLEAN_SAMPLES) imprecise.add(f.key);
    return { key: f.key, config: f.config, samples_ms: t.samples_ms ?? [], ...(f.source_hash ? { source_hash: f.source_hash } : {}), stable: t.quality?.stable ?? true };
  });
  // An imprecise finalist that its paired rounds put surely ahead of the fastest stable one is
  // judged with the stable ones (pairedAhead); its record no longer lists it as unstable.
  const ahead = pairedAhead(finalists.filter((f) => imprecise.has(f.key)), finalists, pooled);
  for (const key of ahead) delete unstable[key];
  const candidates = pooled.map((c) => (ahead.has(c.key) ? { ...c, stable: true } : c));
  const again = selectWinner(candidates, order);
  if (!again) return { winner };
  // Ties from the paired rounds join the samples' ties; the first of them all in the tie order wins.
  const fastest = finalists.find((f) => f.key === again.confidence.fastest)!;
  const stable = (f: SideBySide) => candidates.find((c) => c.key === f.key)?.stable !== false;
  const paired = pairedTies(fastest.rounds, new Map(finalists.filter((f) => f !== fastest && stable(f)).map((f) => [f.key, f.rounds])));
  const tied = [...new Set([...again.confidence.tied, ...paired.keys()])];
  // The tie order chooses among the tied finalists practically equivalent to the fastest (their
  // paired rounds within TIE_MARGIN of it); one tied only because six rounds cannot tell (on the
  // Xeon VM a finalist 11 % slower in its rounds, its interval 1.02-1.20) stays declared tied.
  const close = (f: (typeof finalists)[number]) => f === fastest || pairedRatio(fastest.rounds, f.rounds) <= 1 + TIE_MARGIN;
  const contenders = rankedContenders(finalists.filter((f) => f === fastest || (stable(f) && pairedRatio(fastest.rounds, f.rounds) <= 1 + FRESH_PROCESSES.margin)), fastest);
  const fits = (until: number | undefined) => until === undefined || freshProcessesFit(until - performance.now(), contenders.length, turnMs);
  // What the time limit cut, said in the record (a tune without a limit, or with time enough, cuts nothing).
  const ownCuts = [...(keys.length < all.length ? [`${keys.length} of ${all.length} finalists`] : []), ...(rounds < REVALIDATION.rounds ? [`${rounds} of ${REVALIDATION.rounds} rounds`] : [])];
  // A finalist's search-time median where that timing was stable (its record for the code
  // generated now: the entry may keep older code's under the same configuration).
  const searchMedian = (key: string) => {
    const searched = Object.entries(entry.candidates).find(([k, c]) => current.has(k) && c.key === key)?.[1];
    return searched?.quality?.stable !== false ? searched?.median_ms : undefined;
  };
  const decide = (across: ProcessesVerdict | undefined, freshProcesses: 'as planned' | 'cut' | 'after the others'): Winner => {
    const cuts = [...ownCuts, ...(freshProcesses === 'cut' ? ['no fresh processes'] : freshProcesses === 'after the others' ? ['fresh processes after the other problems'] : [])];
    const timeLimited = cuts.length ? { time_limited: `this problem's share of the time limit: ${cuts.join(', ')}` } : {};
    if (across) {
      // The processes' verdict replaces the tune's own rounds' for the contenders they measured
      // (p_value and ratio_ci stay those of the tune's own samples).
      const { verdict, processes } = across;
      const decided = (k: string) => verdict.ratio.has(k);
      const tiedAcross = [...tied.filter((k) => !decided(k)), verdict.fastest, ...verdict.tied.keys()];
      const eligible = finalists.filter((f) => f.key === verdict.fastest || (verdict.tied.has(f.key) && verdict.ratio.get(f.key)! <= 1 + TIE_MARGIN));
      const chosen = eligible.sort((a, b) => compareSimplicity(a, b, order))[0]!;
      // Its time: the median over the processes of its median round in each (what the next run
      // sees, give or take a process's bias), from the rounds outside a core's slow phase. On the
      // AMD EPYC VM a fresh process often starts inside one that lasts its whole second or two
      // (2026-12-07: T stage 4's winner at 0.0137 ms in the tune's rounds, 0.0265 and 0.0259 in
      // two fresh processes): its rounds still compare the contenders fairly, but time them
      // 1.3-2x slow. Where every process timed the winner only in slow phases, all of them count.
      const medianRounds = (ps: readonly ProcessRounds[]) => ps.map((p) => p.get(chosen.key)).filter((r) => r !== undefined && r.length > 0).map((r) => quantile(r!, 0.5));
      const fastMedians = medianRounds(across.fast);
      const allMedians = medianRounds(processes);
      const medians = fastMedians.length ? fastMedians : allMedians;
      const slowProcesses = fastMedians.length ? allMedians.length - fastMedians.length : 0;
      // And where its search timed it faster, that: a slowdown the speed canary cannot see (on the
      // AMD VM some lasted minutes, the kernels 1.5-1.9x slow, the canary not) only adds time, as
      // below.
      const acrossMedian = quantile(medians, 0.5);
      const searched = searchMedian(chosen.key);
      const fromSearch = searched !== undefined && searched < acrossMedian;
      return {
        ...again,
        key: chosen.key,
        config: chosen.config,
        median_ms: fromSearch ? searched : acrossMedian,
        ...(chosen.source_hash ? { source_hash: chosen.source_hash } : {}),
        confidence: {
          ...again.confidence,
          fastest: verdict.fastest,
          tied: [...new Set(tiedAcross)],
          revalidated: {
            candidates: finalists.map((f) => f.key),
            rounds,
            changed: chosen.key !== winner.key,
            paired_ratio_ci: Object.fromEntries([...paired].filter(([k]) => !decided(k))),
            processes: processes.length,
            process_ratio_ci: Object.fromEntries(verdict.tied),
            process_medians_ms: medians,
            ...(slowProcesses ? { slow_phase_processes: slowProcesses } : {}),
            median_from: fromSearch ? ('search' as const) : ('processes' as const),
            ...(Object.keys(unstable).length ? { unstable } : {}),
            ...timeLimited,
          },
        },
      };
    }
    const chosen = finalists.filter((f) => tied.includes(f.key) && close(f)).sort((a, b) => compareSimplicity(a, b, order))[0]!;
    const pooled = quantile(candidates.find((c) => c.key === chosen.key)!.samples_ms, 0.5);
    // The winner has two medians: its search's and the side-by-side rounds'. Rounds that all ran in
    // a core's slow phase (nothing fast to judge them against) compare the finalists fairly but time
    // them 1.3-1.8x slow, and a disturbance no evidence saw only adds time too; and inside a tune the
    // two procedures differ by a few per cent for some kernels, in either direction (T stage 2's
    // search 5 % above its rounds, stage 1's 2.5 % below; in a fresh process they agree). The
    // stored median is the lower of the two where the search's was stable, even one the canary saw
    // taken in a slow phase (it is then an upper bound too, and the rounds may have met a slower
    // one): one rule, so repeated tunes do not switch between procedures by chance.
    const searched = searchMedian(chosen.key);
    const fromSearch = searched !== undefined && searched < pooled;
    return {
      ...again,
      key: chosen.key,
      config: chosen.config,
      median_ms: fromSearch ? searched : pooled,
      ...(chosen.source_hash ? { source_hash: chosen.source_hash } : {}),
      confidence: {
        ...again.confidence,
        tied,
        revalidated: { candidates: finalists.map((f) => f.key), rounds, changed: chosen.key !== winner.key, paired_ratio_ci: Object.fromEntries(paired), ...(fromSearch ? { median_from: 'search' as const } : {}), ...(Object.keys(unstable).length ? { unstable } : {}), ...timeLimited },
      },
    };
  };
  if (!elsewhere || contenders.length < 2) return { winner: decide(undefined, 'as planned') };
  if (fits(deadline)) return { winner: decide(await inFreshProcesses(contenders, elsewhere), 'as planned') };
  // The fresh processes do not fit in this problem's share: the tune's own rounds decide for now,
  // and the processes decide again once the other problems are tuned, if they fit in what is left.
  return {
    winner: decide(undefined, 'cut'),
    later: async (until) => {
      if (!fits(until)) return undefined;
      const across = await inFreshProcesses(contenders, elsewhere);
      return across && decide(across, 'after the others');
    },
  };
}

/**
 * Finalists (of `imprecise`: unstable for their median's interval alone) whose paired rounds put
 * them surely ahead of the fastest stable finalist: the 95 % interval of their time over its,
 * round by round, lies wholly below 1 - TIE_MARGIN. In a noisy spell a kernel's samples spread
 * over the spell's phases and its median's interval widens past the target, while one timed
 * wholly inside a slow phase reads stable; each round times them back to back, so their ratio
 * round by round still tells which is faster. (AMD EPYC VM, 2026-12-07: in 20 quick and default
 * tunes of NeoNeXt-T, 14 winners had a finalist 3 % or more faster by the search that lost as
 * unstable, at ±2.2 to ±10.8 %; T stage 3's fastest, 13 % ahead, lost at ±2.2 %, and the winner
 * was 1.135 of the best.) A kernel with two modes stays set aside: its median says little.
 */
export function pairedAhead(imprecise: readonly Pick<SideBySide, 'key' | 'rounds'>[], finalists: readonly Pick<SideBySide, 'key' | 'rounds'>[], candidates: readonly Candidate[]): Set<string> {
  const fastest = fastestStable(candidates.filter((c) => c.stable !== false && c.samples_ms.length > 0));
  const reference = fastest && finalists.find((f) => f.key === fastest.key);
  if (!reference) return new Set();
  return new Set(
    imprecise
      .filter((f) => {
        const d = roundLogRatios(reference.rounds, f.rounds);
        return d.length >= MIN_KEPT_ROUNDS && ratioInterval(d).ci[1] < 1 - TIE_MARGIN;
      })
      .map((f) => f.key),
  );
}

/** The contenders for fresh processes: the tune's fastest first, then by their paired ratio to it, at most FRESH_PROCESSES.maxFinalists. */
function rankedContenders(contenders: readonly SideBySide[], fastest: SideBySide): SideBySide[] {
  return [...contenders].sort((a, b) => (a === fastest ? -1 : b === fastest ? 1 : pairedRatio(fastest.rounds, a.rounds) - pairedRatio(fastest.rounds, b.rounds))).slice(0, FRESH_PROCESSES.maxFinalists);
}

/** The verdict across processes and each process's rounds (the tune's own first). */
interface ProcessesVerdict {
  readonly verdict: AcrossProcesses;
  readonly processes: ProcessRounds[];
  /** The same processes' rounds outside a core's slow phase (the winner's median is theirs). */
  readonly fast: ProcessRounds[];
}

/** The rounds not timed in a core's slow phase. */
function fastRounds(rounds: readonly number[], slow: readonly boolean[] | undefined): number[] {
  return rounds.filter((_, i) => !slow?.[i]);
}

/**
 * The ranked contenders (rankedContenders) timed again in FRESH_PROCESSES.count new processes,
 * and the verdict across those and the tune's own rounds; undefined with fewer than two
 * contenders or where no other process measured them.
 */
async function inFreshProcesses(ranked: readonly SideBySide[], elsewhere: SideBySideElsewhere): Promise<ProcessesVerdict | undefined> {
  if (ranked.length < 2) return undefined;
  const processes: ProcessRounds[] = [new Map(ranked.map((f) => [f.key, f.rounds]))];
  const fast: ProcessRounds[] = [new Map(ranked.map((f) => [f.key, fastRounds(f.rounds, f.slowRounds)]))];
  const entries = ranked.map((f) => ({ key: f.key, config: f.config, ...(f.source_hash ? { source_hash: f.source_hash } : {}) }));
  const { rounds, roundMs, discardRounds } = FRESH_PROCESSES;
  for (let i = 0; i < FRESH_PROCESSES.count; i++) {
    const there = await elsewhere(entries, { rounds, roundMs, discardRounds });
    if (!there.length) continue;
    processes.push(new Map(there.map((f) => [f.key, f.rounds])));
    fast.push(new Map(there.map((f) => [f.key, fastRounds(f.rounds, f.slow)])));
  }
  const verdict = acrossProcesses(processes, ranked.map((f) => f.key));
  return verdict && { verdict, processes, fast };
}
