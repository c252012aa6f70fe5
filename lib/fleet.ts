/**
 * Tuning a suite across workers: the jobs of a run for each device key, carried by Redis (BullMQ)
 * or by in-process workers, their results merged into a tuning database as they arrive. The CLI's
 * `fleet` commands and `worker` wrap these.
 */
import { InputError } from '../core/errors.js';
import type { BackendName } from '../harness/types.js';
import { type Suite, suiteProblems } from '../suites/suite.js';
import type { TuningStore } from '../tuner/db.js';
import { type FleetDevice, newRunId, planJobs, type PlanOptions, ResultMerger } from '../fleet/coordinator.js';
import type { JobExecutor } from '../fleet/execute.js';
import { type FleetOutcome, runLocalFleet } from '../fleet/local.js';
import { JOB_ATTEMPTS } from '../fleet/job.js';
import type { FleetStatus, RedisWorkerOptions } from '../fleet/redis.js';

export { checkRedisUrl } from '../fleet/redis-url.js';
export type { FleetStatus } from '../fleet/redis.js';

/** The Redis side (BullMQ, ioredis), loaded when a command uses it: every other command starts without it. */
const redis = () => import('../fleet/redis.js');
export const probeRedis = async (url: string): Promise<void> => (await redis()).probeRedis(url);
export const fleetStatus = async (url: string): Promise<FleetStatus> => (await redis()).fleetStatus(url);
export const runRedisWorker = async (url: string, executor: JobExecutor, o: RedisWorkerOptions): Promise<{ completed: number; failed: number }> => (await redis()).runRedisWorker(url, executor, o);
export { ReplayExecutor, TuningExecutor, type JobExecutor } from '../fleet/execute.js';
export type { FleetOutcome } from '../fleet/local.js';

export interface FleetTuneOptions extends Omit<PlanOptions, 'timeoutMs' | 'db'> {
  readonly suite: Suite;
  readonly backends: readonly BackendName[];
  /** Device keys to tune for; by default those of the connected workers (Redis) or of the local executor. */
  readonly devices?: readonly string[];
  readonly jobTimeoutMs: number;
  readonly signal?: AbortSignal;
  log(s: string): void;
  progress?(p: { done: number; total: number; failed: number; current: string }): void;
}

export type FleetTuneResult = FleetOutcome & { readonly run: string; readonly devices: readonly FleetDevice[]; readonly finished: boolean; readonly partial: readonly string[] };

/** Device keys asked for, checked against what serves them; by default every one that serves a requested backend. */
function chooseDevices(available: readonly { device: string; backend: string }[], o: FleetTuneOptions, where: string): FleetDevice[] {
  const wanted = available.filter((d) => o.backends.includes(d.backend as BackendName));
  if (!o.devices?.length) {
    if (wanted.length === 0) throw new InputError('backend', o.backends.join(','), `a backend some worker serves (${where}: ${[...new Set(available.map((d) => d.backend))].join(', ') || 'none'})`, 'start `neotune worker` on each machine first, or name device keys with --device');
    return wanted.map((d) => ({ device: d.device, backend: d.backend as BackendName }));
  }
  return o.devices.map((key) => {
    const hit = available.find((d) => d.device === key);
    if (hit) return { device: key, backend: hit.backend as BackendName };
    // A device no worker serves yet: its backend is the key's first field.
    const backend = key.split(' | ')[0] as BackendName;
    if (!o.backends.includes(backend)) throw new InputError('device', key, `a device key of backend ${o.backends.join(' or ')} (neotune fleet status lists the workers' keys)`);
    return { device: key, backend };
  });
}

/** What each job of a run is asked to do; warm starts from `store`'s database. */
function planOptions(o: FleetTuneOptions, store: TuningStore): PlanOptions {
  return { strategy: o.strategy, seed: o.seed, budget: o.budget, slices: o.slices, timeoutMs: o.jobTimeoutMs, db: store.db, ...(o.kernels ? { kernels: o.kernels } : {}), ...(o.pin ? { pin: o.pin } : {}) };
}

/** Tunes a suite with in-process workers (no Redis): the same jobs and merging as the Redis fleet. */
export async function fleetTuneLocal(store: TuningStore, executor: JobExecutor, workers: number, o: FleetTuneOptions): Promise<FleetTuneResult> {
  const devices = chooseDevices(executor.devices, o, 'this machine');
  const run = newRunId();
  const jobs = planJobs(run, suiteProblems(o.suite), devices, planOptions(o, store));
  const merger = new ResultMerger(store, o.log);
  try {
    const outcome = await runLocalFleet(jobs, executor, {
      workers,
      attempts: JOB_ATTEMPTS,
      ...(o.signal ? { signal: o.signal } : {}),
      onResult: async (job, result, where) => void (await merger.merge(job, result, where)),
      ...(o.progress ? { progress: o.progress } : {}),
      log: o.log,
    });
    const partial = await merger.finish();
    return { ...outcome, run, devices, finished: outcome.completed + outcome.quarantined.length === outcome.total, partial };
  } finally {
    await store.compact();
  }
}

/** Queues a suite's jobs on the Redis at `url` for the devices of connected workers (or `devices`); with `wait`, merges results into `store` until every job is in. */
export async function fleetTuneRedis(url: string, store: TuningStore, wait: boolean, o: FleetTuneOptions & { command: string }): Promise<FleetTuneResult> {
  const devices = chooseDevices(await (await redis()).liveDevices(url), o, `workers connected to ${url}`);
  const run = newRunId();
  const jobs = planJobs(run, suiteProblems(o.suite), devices, planOptions(o, store));
  await (await redis()).enqueueRun(url, run, jobs, { suite: o.suite.name, command: o.command });
  o.log(`neotune: run ${run}: ${jobs.length} jobs queued for ${devices.length} device(s) on ${url}`);
  if (!wait) return { run, devices, total: jobs.length, completed: 0, quarantined: [], finished: false, partial: [] };
  return { ...(await fleetCollect(url, run, store, true, o)), run, devices };
}

/** Merges the results of run `run` that are in (with `wait`, every one as it arrives) into `store`. */
export async function fleetCollect(url: string, run: string, store: TuningStore, wait: boolean, o: Pick<FleetTuneOptions, 'log' | 'progress' | 'signal'>): Promise<FleetOutcome & { finished: boolean; partial: readonly string[] }> {
  const merger = new ResultMerger(store, o.log);
  try {
    const outcome = await (await redis()).collectRun(url, run, merger, { wait, log: o.log, ...(o.progress ? { progress: o.progress } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    const partial = outcome.finished ? await merger.finish() : [];
    return { ...outcome, partial };
  } finally {
    await store.compact();
  }
}
