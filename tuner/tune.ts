/**
 * Tuning one problem on one backend session: form the pruned joint space, let a strategy propose
 * configurations, evaluate each through the shared harness (generate → compile → verify against
 * the float64 reference with a poisoned output → adaptive timing), record every candidate in the
 * database (saved after each one), then pick the winner with statistics.
 */
import { evaluateCandidate, generatedSourceHash } from '../harness/evaluate.js';
import { makeProblemData, problemRecord } from '../harness/problem.js';
import type { ResultRecord } from '../harness/results.js';
import type { BackendSession, KernelVariant, MeasureOptions, Params, Problem, ProblemData } from '../harness/types.js';
import { type CandidateRecord, candidateKey, storedSamples, type DbEntry, deviceFingerprint, entryKey, type TuningDb } from './db-model.js';
import { buildSpace, complexity, type Config, configKey, type SearchSpace } from './space.js';
import type { Observation, Strategy } from './strategies/strategy.js';
import { revalidateWinner, type Revalidated, type SideBySideElsewhere } from './revalidate.js';
import { evaluationBudget, search, type TuneBudget } from './search.js';
import type { CostModel, Prediction } from '../model/cost-model.js';
import type { DeviceFeatures } from '../model/features.js';
import { deviceFeaturesOf, priorFor } from './model/training.js';
import { measuredOnDevice, relatedObservations } from './model/related.js';
import type { HubFile } from './hub.js';

export { MIN_EVALUATIONS, type TuneBudget } from './search.js';
import { selectWinner, type Winner } from './winner.js';

export const TUNE_MEASURE: MeasureOptions = { timeMs: 100, minSamples: 10, warmupMs: 60, adaptive: { targetRelHalfWidth: 0.02, maxMs: 500 } };

export interface TuneProgress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly best?: { key: string; median_ms: number };
  readonly current: string;
}

/** How tuneProblem searches: strategy, budget, seed, timing, where candidates are recorded as they finish, progress, thread cap. */
export interface TuneOptions {
  readonly strategy: Strategy;
  readonly budget: TuneBudget;
  readonly seed: number;
  readonly measure?: MeasureOptions;
  /** Persists every candidate as it is measured, and the winner (tuner/db.ts TuningStore). */
  readonly recorder?: TuneRecorder;
  readonly progress?: (p: TuneProgress) => void;
  readonly data?: ProblemData;
  /**
   * Thread counts above this are not tuned now (the machine is busy: see harness/load.ts); they
   * are pruned with `threadsReason`.
   */
  readonly maxThreads?: number;
  readonly threadsReason?: string;
  /** Finalists re-measured side by side before the winner is stored (default true). */
  readonly revalidate?: boolean;
  /** Where the closest finalists are timed again in fresh processes (fresh-process.ts; revalidate.ts FRESH_PROCESSES). */
  readonly elsewhere?: SideBySideElsewhere;
  /** Where this problem's share of a time limit ends (performance.now() clock): the side-by-side re-timing fits in what the search left (revalidate.ts revalidateWinner). */
  readonly deadline?: number;
  /** Stops the search after the candidate in progress (Ctrl-C): the winner is chosen from what was measured, without the side-by-side re-timing. */
  readonly signal?: AbortSignal;
  /** Parameter values fixed for every variant that declares them (`--params`): the search tunes the others. */
  readonly pin?: Params;
  /**
   * Configurations evaluated first, before the strategy proposes (those in this problem's space,
   * not yet measured; they count in the budget): the winners of similar problems on the same
   * device (`warmStarts`). A good configuration of one layer is usually good for the next, so a
   * small budget starts from them instead of from random probes.
   */
  readonly warmStart?: readonly Config[];
  /**
   * Only every `count`-th configuration of the space, starting at `index` (a fleet job tunes one
   * slice of a problem's space; the others are pruned with the reason).
   */
  readonly slice?: { readonly index: number; readonly count: number };
  /** The cost model and this device's features: the strategy gets the model's prediction for every configuration of the space. */
  readonly model?: { readonly model: CostModel; readonly device: DeviceFeatures };
}

/** Distinct configurations that won other problems of `problem`'s operator on the session's device (or device key) in `db`, the latest entries first (at most `max`). */
export function warmStarts(db: TuningDb, session: BackendSession | string, problem: Problem, max = 4): Config[] {
  // A session, or a device key (a fleet coordinator plans for devices it has no session of).
  const device = typeof session === 'string' ? session : deviceFingerprint(session.device);
  const key = entryKey(device, problemRecord(problem));
  const seen = new Set<string>();
  return Object.entries(db.entries)
    .reverse()
    .filter(([k, e]) => k !== key && e.device === device && e.problem.op === problem.op && e.winner)
    .map(([, e]) => e.winner!.config)
    .filter((c) => !seen.has(configKey(c)) && seen.add(configKey(c)))
    .slice(0, max);
}

/** Where tuning records what it measures: a TuningStore appends each record to the database's journal. */
export interface TuneRecorder {
  recordCandidate(entry: DbEntry, key: string, candidate: CandidateRecord): Promise<void>;
  recordWinner(entry: DbEntry): Promise<void>;
  /** Merges into `entry` the candidates other processes recorded for it meanwhile; returns their keys. */
  refreshEntry?(entry: DbEntry): Promise<string[]>;
}

/** The outcome of tuneProblem: the entry, its winner, and what the search measured. */
export interface TuneResult {
  readonly entry: DbEntry;
  readonly space: SearchSpace;
  readonly evaluated: number;
  readonly reused: number;
  readonly winner?: Winner;
  /** Database keys of the candidates measured with the code the generators produce now. */
  readonly current: ReadonlySet<string>;
  /**
   * Where the time limit (TuneOptions.deadline) left no room for the fresh processes in this
   * problem's share: runs them, if they fit before `until`, records the winner they decide and
   * resolves to the result with it (undefined where they do not fit, or gave no verdict).
   */
  readonly freshProcessesLater?: (until: number) => Promise<TuneResult | undefined>;
}

function compact(r: ResultRecord, config: Config): CandidateRecord {
  return {
    key: configKey(config),
    config,
    source_hash: r.source_hash ?? null,
    state: r.state,
    ...(r.median_ms !== undefined ? { median_ms: r.median_ms, samples_ms: storedSamples(r.samples_ms ?? []), timing_method: r.timing_method ?? '' } : {}),
    ...(r.quality ? { quality: r.quality } : {}),
    ...(r.max_rel_err !== undefined ? { max_rel_err: r.max_rel_err } : {}),
    ...(r.error ? { error: r.error } : {}),
    executed_flops: r.flops.executed,
  };
}

/**
 * The order statistical ties are broken in (lower first): fewer threads; then, where a cost model
 * gave a prior, the configuration it predicts fastest — it has measured other problems and
 * devices, where this problem's own measurements cannot tell the tied apart, and its favourites
 * are the first a model-based search measures, so repeated tunes meet the same ones — else (and
 * after that) the simplest variant and parameters (space.ts complexity).
 */
export function tieOrder(variants: readonly { readonly name: string }[], prior?: ReadonlyMap<string, Prediction>): (c: Config) => number[] {
  if (!prior) return (c) => complexity(variants, c);
  return (c) => {
    const [threads, ...simpler] = complexity(variants, c);
    return [threads!, prior.get(configKey(c))?.mean ?? Infinity, ...simpler];
  };
}

/** A cost model and the hubs that give its devices' features (tuner/shipped-space.ts shippedModel). */
export interface TieModel {
  readonly model: CostModel | undefined;
  readonly hubs: readonly HubFile[];
}

/**
 * The tie order for an entry's winner recomputed outside a tune (databases merged, a fleet's
 * slices joined, a page's submission stored): as a tune breaks ties, by the cost model's favourite
 * where `model` knows the entry's backend, else by simplicity.
 */
export function entryTieOrder(entry: DbEntry, variants: readonly { readonly name: string }[], model?: TieModel): (c: Config) => number[] {
  if (!model?.model?.backends.has(entry.backend)) return tieOrder(variants);
  const configs = Object.values(entry.candidates).map((c) => c.config);
  return tieOrder(variants, priorFor(model.model, entry.problem, configs, deviceFeaturesOf(entry.device, entry.backend, model.hubs)));
}

/**
 * Recomputes an entry's winner from its verified candidates (only those whose database key is in
 * `current`, when given: the code the generators produce now); ties broken in `order`.
 */
export function entryWinner(entry: DbEntry, variants: readonly { readonly name: string }[], current?: ReadonlySet<string>, order = tieOrder(variants)): Winner | undefined {
  const cands = Object.entries(entry.candidates)
    .filter(([k, c]) => c.state === 'verified' && c.samples_ms?.length && (!current || current.has(k)))
    .map(([, c]) => c)
    .map((c) => ({ key: c.key, config: c.config, samples_ms: c.samples_ms!, ...(c.source_hash ? { source_hash: c.source_hash } : {}), ...(c.quality ? { stable: c.quality.stable } : {}) }));
  return selectWinner(cands, order);
}

/** entryWinner with ties broken as a tune breaks them (entryTieOrder): for winners recomputed outside a tune. */
export function entryWinnerAsTuned(entry: DbEntry, variants: readonly { readonly name: string }[], model: TieModel, current?: ReadonlySet<string>): Winner | undefined {
  return entryWinner(entry, variants, current, entryTieOrder(entry, variants, model));
}

/** Tunes one problem: the strategy proposes candidates within the budget, each is verified and timed (recorded in the database as it finishes), finalists are re-timed side by side, and the winner is chosen with its statistical confidence. */
export async function tuneProblem(db: TuningDb, problem: Problem, variants: readonly KernelVariant[], session: BackendSession, opts: TuneOptions): Promise<TuneResult> {
  const space = sliceSpace(pinParams(capThreads(buildSpace(problem, variants, session), opts.maxThreads, opts.threadsReason), opts.pin), opts.slice);
  const device = deviceFingerprint(session.device);
  const record = problemRecord(problem);
  const key = entryKey(device, record);
  // A problem no configuration can run (e.g. a dtype no variant computes) leaves the database as
  // it was: its entry is not stored.
  const fresh: DbEntry = { device, backend: session.backend, problem: record, candidates: {} };
  if (space.configs.length === 0) return { entry: db.entries[key] ?? fresh, space, evaluated: 0, reused: 0, current: new Set() };
  const entry: DbEntry = (db.entries[key] ??= fresh);
  const byName = new Map(variants.map((v) => [v.name, v]));

  // Resume: candidates already in the database for the code these configurations generate now.
  const resumed: Observation[] = [];
  const current = new Set<string>();
  let reused = 0;
  for (const config of space.configs) {
    const stored = Object.values(entry.candidates).filter((c) => c.key === configKey(config));
    if (stored.length === 0) continue;
    const hash = await generatedSourceHash(session, byName.get(config.variant)!, problem, config.params);
    const hit = stored.find((c) => c.source_hash === hash);
    if (!hit) continue;
    current.add(candidateKey(hit.key, hit.source_hash));
    resumed.push({ config, time: hit.state === 'verified' ? hit.median_ms : undefined });
    reused++;
  }

  const data = opts.data ?? makeProblemData(problem, opts.seed);
  const prior = opts.model ? priorFor(opts.model.model, record, space.configs, opts.model.device) : undefined;
  // What this device did on the other problems it was measured on (this run's earlier ones too).
  const related = opts.model ? relatedObservations(opts.model.model, opts.model.device, record, measuredOnDevice(db, device, session.backend)) : [];
  const order = tieOrder(variants, prior);
  let evaluated = 0;
  let failed = resumed.filter((h) => h.time === undefined).length;
  // The budget counts every evaluation of this problem, those of an earlier (interrupted) run too.
  const budget = evaluationBudget(opts.budget, space.configs.length);
  const total = Math.min(space.configs.length, Math.max(reused, budget));
  let history: readonly Observation[] = resumed;
  const bestSoFar = () => {
    const ok = history.filter((h) => h.time !== undefined).sort((a, b) => a.time! - b.time!)[0];
    return ok ? { key: configKey(ok.config), median_ms: ok.time! } : undefined;
  };
  history = await search(
    space,
    async (config) => {
      const r = await evaluateCandidate(session, byName.get(config.variant)!, problem, config.params, data, { measure: opts.measure ?? TUNE_MEASURE });
      const rec = compact(r, config);
      const ck = candidateKey(rec.key, rec.source_hash);
      entry.candidates[ck] = rec;
      current.add(ck);
      if (r.state !== 'verified') failed++;
      evaluated++;
      await opts.recorder?.recordCandidate(entry, ck, rec);
      return r.state === 'verified' ? r.median_ms : undefined;
    },
    {
      strategy: opts.strategy,
      seed: opts.seed,
      evaluations: budget,
      ...(opts.budget.timeMs !== undefined ? { timeMs: opts.budget.timeMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      resumed,
      ...(opts.warmStart ? { warmStart: opts.warmStart } : {}),
      ...(prior ? { context: { prior, related } } : {}),
      onProposal: (config, h) => {
        history = h;
        opts.progress?.({ done: h.length, total, failed, best: bestSoFar(), current: configKey(config) });
      },
    },
  );
  // Another process tuning the same problem into the same database: its candidates (of the code
  // generated now) take part in the choice too.
  for (const k of (await opts.recorder?.refreshEntry?.(entry)) ?? []) {
    const c = entry.candidates[k]!;
    const v = byName.get(c.config.variant);
    if (!v || !space.configs.some((x) => configKey(x) === c.key)) continue;
    if ((await generatedSourceHash(session, v, problem, c.config.params)) === c.source_hash) current.add(k);
  }
  // Nothing new measured and the stored winner is among the current candidates: keep it (it was
  // re-validated side by side; recomputing it from the search timings alone would undo that).
  const stored = entry.winner;
  const unchanged = evaluated === 0 && stored !== undefined && [...current].some((k) => entry.candidates[k]?.key === stored.key);
  let winner = unchanged ? stored : entryWinner(entry, variants, current, order);
  let revalidated: Revalidated | undefined;
  if (winner && !unchanged && opts.revalidate !== false && evaluated > 0 && !opts.signal?.aborted) {
    opts.progress?.({ done: history.length, total, failed, best: bestSoFar(), current: 'finalists side by side' });
    const predicted = prior && ((c: Config) => prior.get(configKey(c))?.mean);
    revalidated = await revalidateWinner(winner, entry, variants, current, session, problem, data, { order, elsewhere: opts.elsewhere, deadline: opts.deadline, predicted });
    winner = revalidated.winner;
  }
  if (winner) entry.winner = winner;
  else delete entry.winner;
  entry.search = { strategy: opts.strategy.name, seed: opts.seed, evaluations: history.length, space: space.configs.length, pruned: space.pruned.length };
  await opts.recorder?.recordWinner(entry);
  opts.progress?.({ done: history.length, total, failed, best: bestSoFar(), current: 'done' });
  const result: TuneResult = { entry, space, evaluated, reused, current, ...(winner ? { winner } : {}) };
  const later = revalidated?.later;
  if (!later) return result;
  return {
    ...result,
    freshProcessesLater: async (until) => {
      const across = await later(until);
      if (!across) return undefined;
      entry.winner = across;
      await opts.recorder?.recordWinner(entry);
      return { ...result, winner: across };
    },
  };
}

/** Keeps every `count`-th configuration from `index` on; the others are pruned as another slice's. */
function sliceSpace(space: SearchSpace, slice: TuneOptions['slice']): SearchSpace {
  if (!slice || slice.count <= 1) return space;
  const mine = (_: Config, i: number) => i % slice.count === slice.index;
  return {
    ...space,
    configs: space.configs.filter(mine),
    pruned: [...space.pruned, ...space.configs.filter((c, i) => !mine(c, i)).map((config) => ({ config, reason: `in another slice of the space (this job tunes slice ${slice.index + 1} of ${slice.count})` }))],
  };
}

/** Moves configurations whose pinned parameters (those their variant has) differ from `pin` to the pruned list. */
function pinParams(space: SearchSpace, pin: Params | undefined): SearchSpace {
  if (!pin || Object.keys(pin).length === 0) return space;
  const clash = (c: Config) => Object.entries(pin).find(([k, v]) => k in c.params && c.params[k] !== v);
  const pruned = space.configs.flatMap((config) => {
    const x = clash(config);
    return x ? [{ config, reason: `${x[0]}=${config.params[x[0]]}: pinned to ${x[1]} by --params` }] : [];
  });
  return { ...space, configs: space.configs.filter((c) => !clash(c)), pruned: [...space.pruned, ...pruned] };
}

/** Moves configurations with more threads than `max` to the pruned list, with the reason. */
function capThreads(space: SearchSpace, max: number | undefined, reason = 'the machine is busy'): SearchSpace {
  if (max === undefined) return space;
  const over = (c: Config) => Number(c.params.threads ?? 1) > max;
  return {
    ...space,
    configs: space.configs.filter((c) => !over(c)),
    pruned: [...space.pruned, ...space.configs.filter(over).map((config) => ({ config, reason: `threads=${config.params.threads}: ${reason}` }))],
  };
}

/** The fastest verified current candidate of each variant in a tuning result (the report's finalists). */
export function bestPerVariant(r: TuneResult): Map<string, Config> {
  // Stable timings first; the winner (re-validated side by side) stands for its own variant.
  const rank = (c: CandidateRecord) => [c.quality?.stable === false ? 1 : 0, c.median_ms!] as const;
  const best = new Map<string, CandidateRecord>();
  for (const [k, c] of Object.entries(r.entry.candidates)) {
    if (!r.current.has(k) || c.state !== 'verified' || c.median_ms === undefined) continue;
    const b = best.get(c.config.variant);
    const [x, y] = [rank(c), b && rank(b)];
    if (!y || x[0] < y[0] || (x[0] === y[0] && x[1] < y[1])) best.set(c.config.variant, c);
  }
  const out = new Map([...best].map(([v, b]) => [v, b.config]));
  if (r.winner) out.set(r.winner.config.variant, r.winner.config);
  return out;
}
