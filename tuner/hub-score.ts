/**
 * Strategies scored on the hub, leave one problem out: for each problem of the hub, the cost
 * model is trained on every other problem (of this hub and of the hubs of other devices), never
 * on the one being scored, and each strategy searches that problem's recorded space (a
 * configuration "measured" is looked up: its search-time median). Copy-the-winner strategies get
 * what they get in a real tune: the winners of the nearest other problems first.
 *
 * Figures per problem: evaluations until a configuration within 5 % (2 %) of the best has been
 * measured; Kernel Tuner's methodology score (the fraction of the way from the median
 * configuration to the optimum reached, averaged over the first SCORE_BUDGET evaluations); the
 * regret of the winner it would choose after REGRET_BUDGET evaluations (its finalists re-timed
 * side by side, as the tuner does, and the first of those tied with the best of them in the
 * tune's tie order, over the best); and for the model, its zero-evaluation choice's time over the
 * best.
 */
import { problemFromRecord } from '../harness/problem.js';
import { quantile } from '../harness/stats.js';
import { problemDistance } from '../runtime/choice.js';
import { type HubFile, hubRows, type HubSpace, hubSpaces } from './hub.js';
import { type CostModel, type Prediction, problemId, trainCostModel, type TrainingRow } from '../model/cost-model.js';
import { fastestPredicted } from '../model/portable.js';
import { priorFor } from './model/training.js';
import { type MeasuredProblem, relatedObservations } from './model/related.js';
import { search } from './search.js';
import { type Config, configKey, type SearchSpace } from './space.js';
import type { Observation, Strategy } from './strategies/strategy.js';
import { closeFinalists } from './revalidate.js';
import { compareSimplicity, sameOrTied, TIE_MARGIN } from './winner.js';
import { tieOrder } from './tune.js';
import { Rng } from '../core/rng.js';
import { evaluationsToNearBest } from './replay.js';

export const SCORE_BUDGET = 20;
export const REGRET_BUDGET = 10;
/** Evaluations of each earlier problem the model-based search of the next one learns from (a quick tune's). */
export const RUN_BUDGET = 10;

export interface HubScoreOptions {
  readonly strategies: readonly Strategy[];
  /** Seeds per strategy and problem (a deterministic strategy still breaks ties by its seed). */
  readonly seeds: number;
  /** Evaluations each search may make at most (evaluations-to-within figures above it read as "never"). */
  readonly maxEvaluations: number;
  /** Hubs of other devices: training data only. */
  readonly others?: readonly HubFile[];
  /**
   * Transfer across devices: the model learns from the other devices' hubs only, every problem of
   * them included (the held-out problem too: it was measured there), nothing of this device; the
   * strategies then search this device's spaces.
   */
  readonly transfer?: boolean;
  /**
   * Timing noise between runs, relative (0.05: each measurement of a search reads its recorded time
   * times e^(0.05·z), z standard normal, drawn from the seed): repeated tunes of one machine then
   * differ as live ones do, and `agreement` says how often two seeds keep the same winner.
   */
  readonly noise?: number;
  /** Called as each held-out problem is done. */
  readonly progress?: (done: number, total: number) => void;
}

export interface ProblemScore {
  readonly strategy: string;
  readonly problem: string;
  readonly space: number;
  /** Medians over seeds (Infinity: not within maxEvaluations). */
  readonly to5: number;
  readonly to2: number;
  readonly score: number;
  readonly regret: number;
  /** The model's zero-evaluation choice: its time over the best (model strategy only). */
  readonly zero?: number;
  /**
   * With noise and two seeds or more: the fraction of pairs of seeds whose winners (chosen from all
   * maxEvaluations measured) are the same or tied (one run measured the other's winner among its
   * finalists, within TIE_MARGIN of its own).
   */
  readonly agreement?: number;
}

export interface StrategySummary {
  readonly strategy: string;
  readonly problems: number;
  readonly to5: { readonly median: number; readonly p90: number; readonly within10: number };
  readonly to2: { readonly median: number; readonly p90: number };
  readonly score: number;
  readonly regret: { readonly median: number; readonly p90: number };
  readonly zero?: { readonly median: number; readonly within10: number };
  /** Pairs of seeds that agree, over every problem's pairs (see ProblemScore.agreement). */
  readonly agreement?: number;
}

/** Evaluations until a configuration whose best-estimate time is within `tolerance` of the best was measured (Infinity if never). */
export function evaluationsToWithin(history: readonly Observation[], space: HubSpace, tolerance: number): number {
  return evaluationsToNearBest(history, space.best, tolerance, (h) => space.truth.get(configKey(h.config)));
}

/** Kernel Tuner's methodology score over the first `budget` evaluations: mean of (median − best found) / (median − optimum). */
export function methodologyScore(history: readonly Observation[], space: HubSpace, budget = SCORE_BUDGET): number {
  const all = [...space.truth.values()].filter((t): t is number => t !== undefined);
  const median = quantile(all, 0.5);
  if (median <= space.best) return 1;
  let found = Infinity;
  let sum = 0;
  for (let b = 0; b < budget; b++) {
    const h = history[b];
    const t = h ? space.truth.get(configKey(h.config)) : undefined;
    if (t !== undefined) found = Math.min(found, t);
    sum += Number.isFinite(found) ? Math.max(0, (median - found) / (median - space.best)) : 0;
  }
  return sum / budget;
}

/**
 * The winner a tune of `budget` evaluations would keep: its finalists (measured within the
 * re-validation margin of the fastest measured, at most as many as it re-times) compared by their
 * best-estimate times, as the side-by-side re-timing compares them; those within TIE_MARGIN of the
 * best of them are tied, and the first of the tied in `order` (the tune's tie order: tieOrder)
 * wins; its time over the best.
 */
export function chosenRegret(history: readonly Observation[], space: HubSpace, budget = REGRET_BUDGET, order?: (c: Config) => number[]): number {
  const chosen = chosenWinner(history, space, budget, order);
  return chosen ? chosen.time / space.best : Infinity;
}

/** The winner chosenRegret judges (key and best-estimate time), and the finalists it cannot tell from the best of them (within TIE_MARGIN). Without `order`, the best of them wins. */
export function chosenWinner(history: readonly Observation[], space: HubSpace, budget = REGRET_BUDGET, order?: (c: Config) => number[]): { key: string; time: number; tied: string[] } | undefined {
  const seen = history.slice(0, budget).filter((h) => h.time !== undefined);
  if (seen.length === 0) return undefined;
  const finalists = closeFinalists(seen, (h) => h.time!, Math.min(...seen.map((h) => h.time!)))
    .map((h) => ({ key: configKey(h.config), config: h.config, time: space.truth.get(configKey(h.config))! }))
    .sort((a, b) => a.time - b.time);
  const tied = finalists.filter((f) => f.time <= finalists[0]!.time * (1 + TIE_MARGIN));
  const chosen = order ? [...tied].sort((a, b) => compareSimplicity(a, b, order))[0]! : tied[0]!;
  return { key: chosen.key, time: chosen.time, tied: tied.map((f) => f.key) };
}

/** The fraction of pairs of winners that are the same or tied (two winners at least). */
function agreementOf(winners: readonly ({ key: string; tied: string[] } | undefined)[]): number {
  let agree = 0;
  let pairs = 0;
  for (let i = 0; i < winners.length; i++)
    for (let j = i + 1; j < winners.length; j++) {
      const a = winners[i];
      const b = winners[j];
      pairs++;
      if (a && b && sameOrTied(a, b)) agree++;
    }
  return agree / pairs;
}

/** The noise of seed `seed`'s measurements of the hub's `problem`-th problem (the same in the held-out search and in the earlier run). */
function noiseRng(seed: number, problem: number): Rng {
  return new Rng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(problem + 1, 0x85ebca6b));
}

/** What a search of `space` measures: its recorded times, each times e^(noise·z) with z from `rng` where there is noise. */
function measuring(space: HubSpace, noise: number, rng: Rng): (c: Config) => number | undefined {
  return (c) => {
    const ms = space.measured.get(configKey(c));
    return ms === undefined || noise <= 0 ? ms : ms * Math.exp(noise * rng.gaussian());
  };
}

/** The winners of the `max` problems nearest to `held` (copy-the-winner warm starts, as `tune` gives TPE and annealing). */
function nearestWinners(held: HubSpace, others: readonly HubSpace[], max = 4, excludeSelf = true): Config[] {
  return others
    .filter((o) => !excludeSelf || problemId(o.problem) !== problemId(held.problem))
    .map((o) => ({ o, d: problemDistance(held.problem, o.problem) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map(({ o }) => o.configs.find((c) => configKey(c) === o.bestKey)!);
}

/**
 * The cost model `held` is scored with: trained without it (on any device); with `transfer`,
 * trained on the other devices' hubs alone, the held-out problem included.
 */
export function leaveOneOutModel(hub: HubFile, spaces: readonly HubSpace[], held: HubSpace, others: readonly HubFile[] = [], transfer = false): CostModel | undefined {
  const id = problemId(held.problem);
  const rows: TrainingRow[] = transfer
    ? others.flatMap((h) => hubRows(h))
    : [hubRows(hub, spaces, (s) => problemId(s.problem) === id), ...others.map((h) => hubRows(h, hubSpaces(h), (s) => problemId(s.problem) === id))].flat();
  return trainCostModel(rows);
}

/** The leave-one-out model's prediction for every configuration of `held`. */
export function leaveOneOutPrior(hub: HubFile, spaces: readonly HubSpace[], held: HubSpace, others: readonly HubFile[] = [], transfer = false): Map<string, Prediction> | undefined {
  const model = leaveOneOutModel(hub, spaces, held, others, transfer);
  return model && priorFor(model, held.problem, held.configs, hub.device);
}

/** A hub problem's recorded space as a search space. */
function hubSearchSpace(h: HubSpace): SearchSpace {
  return { problem: problemFromRecord(h.problem), configs: h.configs, pruned: [], variants: [] };
}

/**
 * What quick tunes of the problems before `k` in the hub's order measure on this device (their
 * first RUN_BUDGET evaluations), each searched as `strategy` searches with the model the k-th
 * problem is scored with (which never saw it), each learning from the ones before it.
 */
async function earlierRun(spaces: readonly HubSpace[], k: number, strategy: Strategy, model: CostModel, device: HubFile['device'], seed: number, noise: number): Promise<MeasuredProblem[]> {
  const run: MeasuredProblem[] = [];
  for (const [pi, p] of spaces.slice(0, k).entries()) {
    const prior = priorFor(model, p.problem, p.configs, device);
    const related = relatedObservations(model, device, p.problem, run);
    const history = await search(hubSearchSpace(p), measuring(p, noise, noiseRng(seed, pi)), { strategy, seed, evaluations: Math.min(RUN_BUDGET, p.configs.length), context: { prior, related } });
    run.push({ problem: p.problem, measured: history.flatMap((h) => (h.time !== undefined ? [{ config: h.config, ms: h.time }] : [])) });
  }
  return run;
}

/**
 * Scores every strategy on every problem of the hub, held out in turn. The model-based search of
 * a problem also learns, as a tune going through a suite learns from the database, from what
 * quick tunes of the problems before it in the hub's order measured on this device (earlierRun).
 */
export async function scoreHub(hub: HubFile, o: HubScoreOptions): Promise<{ problems: ProblemScore[]; summary: StrategySummary[] }> {
  const spaces = hubSpaces(hub);
  const noise = o.noise ?? 0;
  const otherSpaces = (o.others ?? []).flatMap((h) => hubSpaces(h));
  const out: ProblemScore[] = [];
  for (const [pi, held] of spaces.entries()) {
    const model = leaveOneOutModel(hub, spaces, held, o.others, o.transfer);
    const prior = model && priorFor(model, held.problem, held.configs, hub.device);
    const space = hubSearchSpace(held);
    // Copy-the-winner warm starts come from what the model may learn from, as the prior does.
    const warm = o.transfer ? nearestWinners(held, otherSpaces, 4, false) : nearestWinners(held, spaces);
    const zero = prior ? held.configs[fastestPredicted(held.configs.map((c) => prior.get(configKey(c))!))] : undefined;
    for (const strategy of o.strategies) {
      const runs: { to5: number; to2: number; score: number; regret: number }[] = [];
      const winners: ReturnType<typeof chosenWinner>[] = [];
      const seeds = strategy.name === 'exhaustive' ? 1 : o.seeds;
      const usesModel = strategy.name === 'model';
      // Ties broken as the tune breaks them: fewest threads, then the model's favourite (the
      // model-based search), else the simplest (the replay knows no variant order: by parameters).
      const order = tieOrder([], usesModel ? prior : undefined);
      for (let s = 0; s < seeds; s++) {
        const related = usesModel && model ? relatedObservations(model, hub.device, held.problem, await earlierRun(spaces, pi, strategy, model, hub.device, 1000 + s, noise)) : [];
        const history = await search(space, measuring(held, noise, noiseRng(1000 + s, pi)), {
          strategy,
          seed: 1000 + s,
          evaluations: Math.min(o.maxEvaluations, held.configs.length),
          ...(usesModel ? (prior ? { context: { prior, related } } : {}) : strategy.name === 'exhaustive' ? {} : { warmStart: warm }),
        });
        runs.push({ to5: evaluationsToWithin(history, held, 0.05), to2: evaluationsToWithin(history, held, 0.02), score: methodologyScore(history, held), regret: chosenRegret(history, held, REGRET_BUDGET, order) });
        winners.push(chosenWinner(history, held, o.maxEvaluations, order));
      }
      const med = (k: keyof (typeof runs)[number]) => quantile(runs.map((r) => r[k]), 0.5);
      out.push({
        strategy: strategy.name,
        problem: held.name,
        space: held.configs.length,
        to5: med('to5'),
        to2: med('to2'),
        score: med('score'),
        regret: med('regret'),
        ...(strategy.name === 'model' && zero ? { zero: held.truth.get(configKey(zero))! / held.best } : {}),
        ...(noise > 0 && winners.length > 1 ? { agreement: agreementOf(winners) } : {}),
      });
    }
    o.progress?.(pi + 1, spaces.length);
  }
  const summary = o.strategies.map((s): StrategySummary => {
    const rows = out.filter((r) => r.strategy === s.name);
    const zeros = rows.flatMap((r) => (r.zero !== undefined ? [r.zero] : []));
    return {
      strategy: s.name,
      problems: rows.length,
      to5: { median: quantile(rows.map((r) => r.to5), 0.5), p90: quantile(rows.map((r) => r.to5), 0.9), within10: rows.filter((r) => r.to5 <= 10).length / rows.length },
      to2: { median: quantile(rows.map((r) => r.to2), 0.5), p90: quantile(rows.map((r) => r.to2), 0.9) },
      score: rows.reduce((a, r) => a + r.score, 0) / rows.length,
      regret: { median: quantile(rows.map((r) => r.regret), 0.5), p90: quantile(rows.map((r) => r.regret), 0.9) },
      ...(zeros.length ? { zero: { median: quantile(zeros, 0.5), within10: zeros.filter((z) => z <= 1.1).length / zeros.length } } : {}),
      ...(rows.some((r) => r.agreement !== undefined) ? { agreement: rows.reduce((a, r) => a + (r.agreement ?? 0), 0) / rows.length } : {}),
    };
  });
  return { problems: out, summary };
}
