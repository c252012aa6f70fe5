/**
 * Running a fleet job on a worker: the tuning executor verifies and measures exactly as local
 * tuning does (tuner/tune.ts on the worker's own backend sessions), into a database entry it
 * returns; the replay executor answers from a recorded exhaustive space, sleeping the recorded
 * times instead of running kernels (to measure the fleet's own overhead and scaling).
 */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lstatSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { InputError } from '../core/errors.js';
import type { BackendRun } from '../kernels/registry.js';
import { problemKey, problemRecord } from '../harness/problem.js';
import { softwareRenderer } from '../harness/software.js';
import type { Problem } from '../harness/types.js';
import { type CandidateRecord, candidateKey, type DbEntry, deviceFingerprint, emptyDb } from '../tuner/db.js';
import { type RecordedSpace, recordedProblem, recordedSearchSpace, recordedTimes } from '../tuner/replay.js';
import { evaluationBudget, search } from '../tuner/search.js';
import { configKey } from '../tuner/space.js';
import { strategyByName } from '../tuner/strategies/index.js';
import { entryWinner, TUNE_MEASURE, tuneProblem } from '../tuner/tune.js';
import type { CostModel } from '../model/cost-model.js';
import { sessionDeviceFeatures } from '../tuner/model/training.js';
import { shippedModel } from '../tuner/shipped-space.js';
import { type FleetJob, JOB_VERSION, type JobResult, jobProblem } from './job.js';

/** The worker process as results name it. */
export const WORKER_NAME = `${hostname()}/${process.pid}`;

/** What runs a worker's jobs: the device keys it serves, and one job at a time per device. */
export interface JobExecutor {
  readonly devices: readonly { readonly device: string; readonly backend: string }[];
  run(job: FleetJob, signal?: AbortSignal): Promise<JobResult>;
  close(): Promise<void>;
}

/** Serialises what is run through it (one device measures one kernel at a time). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.tail;
    let done!: () => void;
    this.tail = new Promise((r) => (done = r));
    await before;
    try {
      return await fn();
    } finally {
      done();
    }
  }
}

/**
 * Holds a lock every neotune worker of this machine shares while `fn` runs: two workers on one
 * machine take turns measuring, so neither's timings are disturbed by the other's kernels.
 */
async function withMachineLock<T>(fn: () => Promise<T>): Promise<T> {
  // Per user, and refused when something other than a lock folder sits at its name (a link there would be followed by the lock's mtime updates).
  const path = join(tmpdir(), `neotune-measure-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);
  try {
    if (!lstatSync(`${path}.lock`).isDirectory()) throw new InputError('machine lock', `${path}.lock`, 'a free path or a lock folder neotune left (remove what is there)', 'is not a folder');
  } catch (e) {
    if (e instanceof InputError) throw e;
  }
  const release = await lockfile.lock(path, { realpath: false, lockfilePath: `${path}.lock`, stale: 10_000, update: 2_000, retries: { forever: true, minTimeout: 100, maxTimeout: 1000 } });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Stops `parent`'s work after `ms` (the job's execution time limit), or when `outer` aborts. */
function deadline(ms: number, outer?: AbortSignal): { signal: AbortSignal; timedOut: () => boolean; clear: () => void } {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, ms);
  const onAbort = () => ac.abort();
  outer?.addEventListener('abort', onAbort);
  return {
    signal: ac.signal,
    timedOut: () => timedOut,
    clear: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/** Tunes jobs on this machine's opened backends (software renderers only with `includeSoftware`). */
export class TuningExecutor implements JobExecutor {
  readonly devices: { device: string; backend: string }[];
  private readonly byDevice = new Map<string, { run: BackendRun; mutex: Mutex }>();

  constructor(
    private readonly runs: readonly BackendRun[],
    private readonly o: { includeSoftware?: boolean; maxThreads?: number; threadsReason?: string; machineLock?: boolean; log?: (s: string) => void } = {},
  ) {
    for (const run of runs) {
      const software = softwareRenderer(run.session.device);
      if (software && !o.includeSoftware) {
        o.log?.(`neotune: ${run.entry.name} runs on a software renderer (${software}): not serving its jobs (their times would not be GPU performance; --include-software serves them anyway)`);
        continue;
      }
      this.byDevice.set(deviceFingerprint(run.session.device), { run, mutex: new Mutex() });
    }
    this.devices = [...this.byDevice].map(([device, { run }]) => ({ device, backend: run.entry.name }));
  }

  /** The cost model for `run`'s device (the shipped hubs', trained once per process on the first model job), undefined where it knows nothing of the backend. */
  private costModel(run: BackendRun): { model: CostModel; device: ReturnType<typeof sessionDeviceFeatures> } | undefined {
    const { hubs, model } = shippedModel();
    return model?.backends.has(run.session.backend) ? { model, device: sessionDeviceFeatures(run.session.device, hubs) } : undefined;
  }

  async run(job: FleetJob, outer?: AbortSignal): Promise<JobResult> {
    const mine = this.byDevice.get(job.device);
    if (!mine) throw new InputError('job.device', job.device, `a device this worker serves: ${this.devices.map((d) => JSON.stringify(d.device)).join(', ') || 'none'}`);
    const { run } = mine;
    const strategy = strategyByName(job.strategy);
    // The model strategy starts from the cost model of the shipped hubs (a worker has no database
    // of its own): its predictions replace the coordinator's copy-the-winner warm starts.
    const model = strategy.name === 'model' ? this.costModel(run) : undefined;
    const problem = jobProblem(job.problem);
    const names = new Set(run.backend.variants.map((v) => v.name));
    for (const k of job.kernels ?? []) if (!names.has(k)) throw new InputError('job.kernels', k, [...names].join(', '));
    const variants = run.backend.variants.filter((v) => !job.kernels || job.kernels.includes(v.name));
    const measure = async () => {
      const started = performance.now();
      const stop = deadline(job.timeout_ms, outer);
      try {
        const db = emptyDb();
        const r = await tuneProblem(db, problem, variants, run.session, {
          strategy,
          seed: job.seed,
          budget: job.budget,
          slice: job.slice,
          signal: stop.signal,
          ...(job.pin ? { pin: job.pin } : {}),
          ...(model ? { model } : job.warm_start ? { warmStart: job.warm_start } : {}),
          ...(this.o.maxThreads !== undefined ? { maxThreads: this.o.maxThreads, threadsReason: this.o.threadsReason ?? 'the machine is busy' } : {}),
        });
        const stopped = stop.timedOut() ? `timeout: the job's ${(job.timeout_ms / 1000).toFixed(0)} s of execution ran out` : outer?.aborted ? 'interrupted' : undefined;
        return { v: JOB_VERSION, worker: WORKER_NAME, entry: r.entry, evaluated: r.evaluated, exec_ms: performance.now() - started, ...(stopped ? { stopped } : {}) } satisfies JobResult;
      } finally {
        stop.clear();
      }
    };
    // One job at a time per device in this process; across processes of this machine, the machine lock.
    return mine.mutex.run(() => (this.o.machineLock === false ? measure() : withMachineLock(measure)));
  }

  async close(): Promise<void> {
    for (const r of this.runs) await r.session.close();
  }
}

/** The device key a replay worker serves for a recorded space. */
export function replayDevice(rec: RecordedSpace): string {
  return `replay | ${rec.description}`;
}

/**
 * What evaluating a candidate of median time `median_ms` costs a worker, ms: tuning's warm-up,
 * then its measurement time or its minimum sample count, whichever takes longer (TUNE_MEASURE).
 */
export function replayCostMs(median_ms: number): number {
  return TUNE_MEASURE.warmupMs + Math.max(TUNE_MEASURE.timeMs, TUNE_MEASURE.minSamples * median_ms);
}

/**
 * Answers jobs from a recorded exhaustive space: each configuration the strategy proposes costs
 * `scale` × replayCostMs(its recorded median) of sleep (a stand-in for verifying and timing it),
 * and is recorded with its recorded time. No kernel runs, so any number of workers fits one machine.
 */
export class ReplayExecutor implements JobExecutor {
  readonly devices: { device: string; backend: string }[];
  private readonly problem: Problem;

  constructor(
    private readonly rec: RecordedSpace,
    private readonly scale: number,
  ) {
    this.problem = recordedProblem(rec);
    this.devices = [{ device: replayDevice(rec), backend: 'cpu' }];
  }

  async run(job: FleetJob, signal?: AbortSignal): Promise<JobResult> {
    const started = performance.now();
    const device = replayDevice(this.rec);
    if (job.device !== device) throw new InputError('job.device', job.device, JSON.stringify(device));
    const problem = jobProblem(job.problem);
    if (problemKey(problem) !== this.rec.problem) throw new InputError('job.problem', problemKey(problem), this.rec.problem);
    const { space, times } = recordedSearchSpace(this.rec, problem);
    const configs = space.configs.filter((_, i) => i % job.slice.count === job.slice.index);
    const strategy = strategyByName(job.strategy);
    const record = problemRecord(problem);
    const entry: DbEntry = { device, backend: 'cpu', problem: record, candidates: {} };
    const lookup = recordedTimes(times);
    const history = await search(
      { ...space, configs },
      async (config) => {
        const t = lookup(config);
        await new Promise((r) => setTimeout(r, this.scale * replayCostMs(t ?? 0)));
        const c: CandidateRecord = {
          key: configKey(config),
          config,
          source_hash: 'replay',
          ...(t !== undefined ? { state: 'verified', median_ms: t, samples_ms: [t, t, t], timing_method: 'replay of a recorded run' } : { state: 'failed', error: 'failed in the recorded run' }),
        };
        entry.candidates[candidateKey(c.key, c.source_hash)] = c;
        return t;
      },
      { strategy, seed: job.seed, evaluations: Math.min(configs.length, evaluationBudget(job.budget, configs.length)), ...(signal ? { signal } : {}) },
    );
    const winner = entryWinner(entry, space.variants);
    if (winner) entry.winner = winner;
    entry.search = { strategy: strategy.name, seed: job.seed, evaluations: history.length, space: configs.length, pruned: space.configs.length - configs.length };
    return { v: JOB_VERSION, worker: WORKER_NAME, entry, evaluated: history.length, exec_ms: performance.now() - started };
  }

  async close(): Promise<void> {}
}
