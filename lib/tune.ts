/**
 * Tuning a suite, as the CLI's tune and run do: every case's NeoCell problem and its depthwise
 * conv on every opened backend, into a tuning database; software renderers are verified, not
 * tuned; on a busy machine, thread counts it cannot give now are left out.
 */
import type { BackendRun } from '../harness/bench.js';
import type { MachineLoad } from '../harness/load.js';
import { softwareRenderer } from '../harness/software.js';
import type { Problem } from '../harness/types.js';
import type { BenchCase, Suite } from '../suites/suite.js';
import { TuningStore } from '../tuner/db.js';
import type { Strategy } from '../tuner/strategies/strategy.js';
import { type TuneBudget, type TuneResult, tuneProblem } from '../tuner/tune.js';

export interface TunedProblem {
  readonly run: BackendRun;
  readonly c: BenchCase;
  readonly problem: Problem;
  readonly result: TuneResult;
}

/**
 * Tunes every case's NeoCell problem and its depthwise conv on every opened backend into `db`
 * (each candidate appended to its journal as it is measured; the journal folded at the end).
 */
export async function tuneSuite(
  store: TuningStore,
  suite: Suite,
  runs: readonly BackendRun[],
  o: {
    strategy: Strategy;
    seed: number;
    budget: TuneBudget;
    kernels?: readonly string[];
    maxThreads?: number;
    threadsReason?: string;
    includeSoftware?: boolean;
    log: (s: string) => void;
    /** Candidates done of the current problem, and what runs now. */
    progress?: (p: { done: number; total: number; failed: number; current: string }) => void;
  },
): Promise<TunedProblem[]> {
  const out: TunedProblem[] = [];
  try {
    for (const run of runs) {
      const software = softwareRenderer(run.session.device);
      if (software && !o.includeSoftware) {
        o.log(`neotune: ${run.entry.name} runs on a software renderer (${software}): its kernels are verified, not tuned (their times are not GPU performance; --include-software tunes it anyway)`);
        continue;
      }
      const variants = run.backend.variants.filter((v) => !o.kernels || o.kernels.includes(v.name));
      for (const c of suite.cases) {
        for (const problem of [c.neocell, c.dwconv] as Problem[]) {
          const result = await tuneProblem(store.db, problem, variants, run.session, {
            strategy: o.strategy,
            seed: o.seed,
            budget: o.budget,
            ...(o.maxThreads !== undefined ? { maxThreads: o.maxThreads, threadsReason: o.threadsReason ?? 'the machine is busy' } : {}),
            recorder: store,
            progress: (p) => o.progress?.({ done: p.done, total: p.total, failed: p.failed, current: `${c.name} ${problem.op} ${run.entry.name} best ${p.best ? `${p.best.median_ms.toFixed(4)} ms` : '–'} | ${p.current}` }),
          });
          out.push({ run, c, problem, result });
        }
      }
    }
  } finally {
    // Fold the journal into the snapshot (also after an error: what was measured is kept either way).
    await store.compact();
  }
  return out;
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
