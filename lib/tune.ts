/**
 * Tuning a suite, as the CLI's tune and run do: every case's NeoCell problem and its depthwise
 * conv on every opened backend, into a tuning database; software renderers are verified, not
 * tuned; on a busy machine, thread counts it cannot give now are left out.
 */
import type { BackendRun } from '../kernels/registry.js';
import type { MachineLoad } from '../harness/load.js';
import { softwareRenderer } from '../harness/software.js';
import { problemKey } from '../harness/problem.js';
import type { Params, Problem } from '../harness/types.js';
import { type BenchCase, type Suite, suiteProblems } from '../suites/suite.js';
import { TuningStore } from '../tuner/db.js';
import type { Strategy } from '../tuner/strategies/strategy.js';
import { type TuneBudget, type TuneResult, tuneProblem, warmStarts } from '../tuner/tune.js';
import { modelOfEverything, sessionDeviceFeatures } from '../tuner/model/training.js';
import { shippedHubs } from '../tuner/shipped-space.js';
import { freshProcessOption } from '../tuner/fresh-process.js';

export interface TunedProblem {
  readonly run: BackendRun;
  readonly c: BenchCase;
  readonly problem: Problem;
  readonly result: TuneResult;
}

/**
 * Tunes every case's NeoCell problem and its depthwise conv on every opened backend into `db`
 * (each candidate appended to its journal as it is measured; the journal folded at the end, also
 * when stopped by `signal` or an error: what was measured is kept). Each problem's search starts
 * from the winners of the other problems of its operator on the same device (warm starts).
 */
export async function tuneSuite(
  store: TuningStore,
  suite: Suite,
  runs: readonly BackendRun[],
  o: {
    strategy: Strategy;
    seed: number;
    budget: TuneBudget;
    /** The whole tuning ends by this time (performance.now() clock): what is left is shared evenly by the problems left that need time (a repeated problem needs none). */
    deadline?: number;
    kernels?: readonly string[];
    maxThreads?: number;
    threadsReason?: string;
    includeSoftware?: boolean;
    /** Stops after the candidate in progress (Ctrl-C). */
    signal?: AbortSignal;
    /** Parameter values fixed for every variant that has them (the search tunes the others). */
    pin?: Params;
    log: (s: string) => void;
    /** A line per tuned problem (verbose output). */
    detail?: (s: string) => void;
    /** Problems done (fractional within the current one) of all, failures so far, what runs now. */
    progress?: (p: { done: number; total: number; failed: number; current: string }) => void;
  },
): Promise<TunedProblem[]> {
  const out: TunedProblem[] = [];
  const tuned = runs.filter((run) => {
    const software = softwareRenderer(run.session.device);
    if (software && !o.includeSoftware) o.log(`neotune: ${run.entry.name} runs on a software renderer (${software}): its kernels are verified, not tuned (their times are not GPU performance; --include-software tunes it anyway)`);
    return !software || o.includeSoftware;
  });
  // The model-based strategy starts each problem from the cost model's predictions, learned from
  // the shipped hub and everything the database holds (all problems, all devices), instead of
  // copying the winners of other problems.
  const usesModel = o.strategy.name === 'model';
  const hubs = usesModel ? shippedHubs() : [];
  const model = usesModel ? modelOfEverything(hubs, store.db, o.seed) : undefined;
  const jobs = tuned.flatMap((run) => suiteProblems(suite).map((p) => ({ run, ...p })));
  const repeat = repeatedJobs(jobs);
  const needingTime = (from: number) => repeat.slice(from).filter((r) => !r).length;
  let failedBefore = 0;
  try {
    for (const [i, { run, c, problem, name: what }] of jobs.entries()) {
      if (o.signal?.aborted) break;
      const variants = run.backend.variants.filter((v) => !o.kernels || o.kernels.includes(v.name));
      const now = performance.now();
      const left = o.deadline !== undefined ? Math.max(1, (o.deadline - now) / Math.max(1, needingTime(i))) : undefined;
      const timeMs = left !== undefined ? Math.min(left, o.budget.timeMs ?? Infinity) : o.budget.timeMs;
      const result = await tuneProblem(store.db, problem, variants, run.session, {
        strategy: o.strategy,
        seed: o.seed,
        budget: { ...o.budget, ...(timeMs !== undefined ? { timeMs } : {}) },
        ...(o.maxThreads !== undefined ? { maxThreads: o.maxThreads, threadsReason: o.threadsReason ?? 'the machine is busy' } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.pin ? { pin: o.pin } : {}),
        ...(!usesModel ? { warmStart: warmStarts(store.db, run.session, problem) } : model?.backends.has(run.session.backend) ? { model: { model, device: sessionDeviceFeatures(run.session.device, hubs) } } : {}),
        // The closest finalists are timed again in fresh processes (tuner/revalidate.ts
        // FRESH_PROCESSES); under a time limit the re-timing fits in this problem's share.
        ...freshProcessOption(run, problem, o.seed),
        ...(left !== undefined ? { deadline: now + left } : {}),
        recorder: store,
        progress: (p) =>
          o.progress?.({
            done: i + (p.total > 0 ? Math.min(1, p.done / p.total) : 0),
            total: jobs.length,
            failed: failedBefore + p.failed,
            current: `${what} on ${run.entry.name}: candidate ${p.done}/${p.total}, best ${p.best ? `${p.best.median_ms.toFixed(4)} ms` : '–'}`,
          }),
      });
      failedBefore += Object.values(result.entry.candidates).filter((x) => x.state !== 'verified').length;
      out.push({ run, c, problem, result });
      o.detail?.(`tuned ${what} on ${run.entry.name}: ${result.evaluated} new and ${result.reused} stored candidates of ${result.space.configs.length}; winner ${winnerText(result)}`);
    }
    // A problem whose share of the time limit had no room for its fresh processes (the first pays
    // for starting the canaries and the model) gets them now, in what the others left.
    for (const [j, done] of out.entries()) {
      if (!done.result.freshProcessesLater || o.deadline === undefined || o.signal?.aborted) continue;
      // (out holds a result for each job, in the jobs' order.)
      const what = jobs[j]!.name;
      o.progress?.({ done: jobs.length, total: jobs.length, failed: failedBefore, current: `${what} on ${done.run.entry.name}: finalists in fresh processes` });
      const again = await done.result.freshProcessesLater(o.deadline);
      if (!again) continue;
      out[j] = { ...done, result: again };
      o.detail?.(`re-timed ${what} on ${done.run.entry.name} in fresh processes after the other problems; winner ${winnerText(again)}`);
    }
  } finally {
    // Fold the journal into the snapshot (also after an error: what was measured is kept either way).
    await store.compact();
  }
  return out;
}

function winnerText(r: TuneResult): string {
  return r.winner ? `${r.winner.config.variant} ${JSON.stringify(r.winner.config.params)} ${r.winner.median_ms.toFixed(4)} ms` : 'none verified';
}

/**
 * Which jobs repeat an earlier one (the same problem on the same backend): a time limit is shared
 * by the others, since a problem tuned a job before has nothing left to measure and takes no time
 * (NeoNeXt-T's depthwise baselines repeat: 11 distinct problems in 14).
 */
export function repeatedJobs(jobs: readonly { readonly run: { readonly entry: { readonly name: string } }; readonly problem: Problem }[]): boolean[] {
  const seen = new Set<string>();
  return jobs.map(({ run, problem }) => {
    const key = `${run.entry.name} ${problemKey(problem)}`;
    if (seen.has(key)) return true;
    seen.add(key);
    return false;
  });
}

/** On a busy machine, thread counts it cannot give now are not tuned (said once, with the measurement). */
export function threadCap(load: MachineLoad, log: (s: string) => void): { maxThreads?: number; threadsReason?: string } {
  if (!load.busy) return {};
  const reason = `not tuned now: the machine is busy (${load.available_cores.toFixed(1)} of ${load.cores} cores free)`;
  log(`neotune: tuning thread counts up to ${load.usable_threads} only: threads above that are ${reason}`);
  return { maxThreads: load.usable_threads, threadsReason: reason };
}

/** The tuning database of option `field`: with `write`, checked writable before any work. */
export function openStore(path: string, write: boolean, field = 'db'): Promise<TuningStore> {
  return TuningStore.open(path, { write, field });
}
