/**
 * The main job (`neotune run`) as a library call: every problem of the suite is tuned on every
 * opened backend into the tuning database (a second run resumes from it), then each variant's
 * best configuration is measured again side by side with the depthwise convs (their tuned best)
 * and the copy. The CLI only parses, prints and writes the files.
 */
import type { MachineLoad } from '../harness/load.js';
import { problemKey } from '../harness/problem.js';
import type { KernelVariant, Params, Problem } from '../harness/types.js';
import type { BackendRun } from '../kernels/registry.js';
import type { Suite } from '../suites/suite.js';
import type { TuneBudget } from '../tuner/search.js';
import type { Strategy } from '../tuner/strategies/strategy.js';
import { bestPerVariant } from '../tuner/tune.js';
import type { BenchProgress } from './bench.js';
import { benchRun, type BenchRequest } from './run.js';
import { openStore, tuneSuite } from './tune.js';

/** Share of the time budget the tuning may take; measuring the tuned kernels side by side takes the rest. */
export const TUNE_SHARE = 0.7;

/** How tuneSuite reports and stops, and which thread counts it leaves out (a busy machine): given the load measured before the run. */
export type TuneHooks = Omit<Parameters<typeof tuneSuite>[3], 'strategy' | 'seed' | 'budget' | 'deadline' | 'kernels' | 'pin'>;

export interface MainJobOptions {
  readonly strategy: Strategy;
  readonly budget: TuneBudget;
  /** The whole job's time budget, ms, counted from `started` (performance.now()). */
  readonly timeBudgetMs?: number;
  readonly started: number;
  /** The tuning database (created when missing, resumed when there). */
  readonly dbPath: string;
  readonly signal?: AbortSignal;
  readonly log: (s: string) => void;
  readonly tuneHooks: (load: MachineLoad) => TuneHooks;
  /** Progress of the side-by-side measurement. */
  readonly measureProgress?: (p: BenchProgress) => void;
}

export async function runMainJob(request: BenchRequest, o: MainJobOptions) {
  const tune = async (suite: Suite, runs: BackendRun[], load: MachineLoad) => {
    const store = await openStore(o.dbPath, true, 'out');
    const finalists = new Map<string, Map<string, Params>>(); // backend + problem key → variant → params
    const tuned = await tuneSuite(store, suite, runs, {
      strategy: o.strategy,
      seed: request.seed,
      budget: o.budget,
      ...(o.timeBudgetMs !== undefined ? { deadline: o.started + TUNE_SHARE * o.timeBudgetMs } : {}),
      ...(request.kernels ? { kernels: request.kernels } : {}),
      ...(request.pin ? { pin: request.pin } : {}),
      ...o.tuneHooks(load),
    });
    for (const { run, problem, result } of tuned) {
      finalists.set(`${run.entry.name} ${problemKey(problem)}`, new Map([...bestPerVariant(result)].map(([v, cfg]) => [v, cfg.params])));
    }
    // Report each variant's best tuned point; variants the search never reached run with defaults (or the pinned values).
    return {
      paramsFor: (_c: unknown, v: KernelVariant, problem: Problem) => {
        const params = finalists.get(`${v.backend} ${problemKey(problem)}`)?.get(v.name);
        return params ? [params] : undefined;
      },
    };
  };
  return benchRun(request, { ...(o.signal ? { signal: o.signal } : {}), verifyOnlyOnSoftware: !request.includeSoftware }, { log: o.log, prepare: tune, ...(o.measureProgress ? { progress: o.measureProgress } : {}) });
}
