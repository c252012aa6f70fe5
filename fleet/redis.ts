/**
 * The fleet on BullMQ and Redis. A run is a BullMQ flow: one parent job (queue `neotune-runs`)
 * whose children are the run's jobs, each in the queue of its device key, so only a worker of
 * that device claims it. A worker killed mid-job stops renewing the job's lock; another worker's
 * stalled check puts the job back (retried elsewhere); a job that stalls again (it kills every
 * worker that runs it) or fails its attempts is quarantined: it fails, with its reason, and the
 * parent goes on without it (ignoreDependencyOnFailure). The coordinator reads the children's
 * results from the parent and merges them into the database as they arrive.
 */
import { FlowProducer, Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { InputError, UnavailableError } from '../core/errors.js';
import type { ResultMerger } from './coordinator.js';
import { jobId } from './coordinator.js';
import { type JobExecutor, WORKER_NAME } from './execute.js';
import { deviceQueue, type FleetJob, JOB_ATTEMPTS, jobLabel, parseJob } from './job.js';
import type { FleetOutcome } from './local.js';
import { checkRedisUrl } from './redis-url.js';

export const RUNS_QUEUE = 'neotune-runs';
/** Hash: queue name → device key (written by runs that queue jobs for it and by workers that serve it). */
const QUEUES_KEY = 'neotune:fleet:queues';
/** Set: queues some run has queued jobs in. */
const ENQUEUED_KEY = 'neotune:fleet:enqueued';
/** Hash: worker name → its registration (devices, start, last heartbeat, job in progress). */
const WORKERS_KEY = 'neotune:fleet:workers';
const HEARTBEAT_MS = 5000;

/**
 * Checks the Redis at `url` before anything is queued or opened: reachable, answering, version
 * 6.2 or newer (BullMQ's minimum). A server that cannot be reached is an error naming the URL.
 */
export async function probeRedis(url: string): Promise<void> {
  checkRedisUrl(url);
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let cause: Error | undefined;
  probe.on('error', (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    const info = await probe.info('server');
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    if (version && (Number(version[1]) < 6 || (Number(version[1]) === 6 && Number(version[2]) < 2))) throw new UnavailableError(`Redis at ${url} is version ${version[1]}.${version[2]}; BullMQ needs 6.2 or newer`);
  } catch (e) {
    if (e instanceof UnavailableError) throw e;
    throw new UnavailableError(`Redis at ${url} is unreachable (${(cause ?? (e as Error)).message || String(e)}): start redis-server there, or pass the right --redis`);
  } finally {
    probe.disconnect();
  }
}

/** A checked connection to the Redis at `url` for BullMQ. */
export async function connectRedis(url: string): Promise<Redis> {
  await probeRedis(url);
  // BullMQ's blocking commands need no per-request retry limit.
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  return redis;
}

interface WorkerRecord {
  readonly devices: readonly { readonly device: string; readonly backend: string }[];
  readonly since: string;
  readonly seen: number;
  readonly job: string | null;
}

/** A job that makes its worker process die (fault injection for testing a fleet): `NEOTUNE_FLEET_FAULT=kill:<text>` kills the worker on jobs whose label contains the text. */
function injectFault(job: FleetJob): void {
  const fault = process.env.NEOTUNE_FLEET_FAULT;
  if (fault?.startsWith('kill:') && jobLabel(job).includes(fault.slice(5))) process.kill(process.pid, 'SIGKILL');
}

export interface RedisWorkerOptions {
  readonly concurrency: number;
  /** A job whose worker stopped renewing its lock for this long is put back for another worker. */
  readonly stallMs: number;
  /** Stops taking jobs; the jobs in progress finish. */
  readonly signal: AbortSignal;
  log(s: string): void;
}

/** Serves the queues of the executor's device keys until `signal` aborts. */
export async function runRedisWorker(url: string, executor: JobExecutor, o: RedisWorkerOptions): Promise<{ completed: number; failed: number }> {
  const redis = await connectRedis(url);
  let completed = 0;
  let failed = 0;
  const active = new Map<string, string>();
  const register = (since: string) =>
    redis.hset(WORKERS_KEY, WORKER_NAME, JSON.stringify({ devices: executor.devices, since, seen: Date.now(), job: [...active.values()][0] ?? null } satisfies WorkerRecord));
  const since = new Date().toISOString();
  const workers: Worker[] = [];
  // BullMQ leaves connections it was given open: each is closed here.
  const connections: Redis[] = [];
  try {
    const enqueued = new Set(await redis.smembers(ENQUEUED_KEY));
    const known = await redis.hgetall(QUEUES_KEY);
    for (const { device } of executor.devices) {
      const queue = deviceQueue(device);
      await redis.hset(QUEUES_KEY, queue, device);
      if (!enqueued.has(queue)) {
        const others = Object.entries(known).filter(([q]) => enqueued.has(q)).map(([, d]) => JSON.stringify(d));
        o.log(`neotune: no fleet run has queued jobs for this device yet: ${JSON.stringify(device)}${others.length ? ` (runs have queued jobs for ${others.join(', ')})` : ''}; waiting on its queue ${queue}`);
      }
    }
    await register(since);
    const beat = setInterval(() => void register(since).catch(() => undefined), HEARTBEAT_MS);
    // The job lock is renewed from a timer: a job that keeps the event loop longer than the stall
    // time (the synchronous float64 verification of a very large problem) loses its job to another worker.
    let lastTick = performance.now();
    let warned = false;
    const watch = setInterval(() => {
      const now = performance.now();
      const gap = now - lastTick - 1000;
      lastTick = now;
      if (gap > o.stallMs / 2 && !warned) {
        warned = true;
        o.log(`neotune: a job kept this worker busy without a break for ${(gap / 1000).toFixed(1)} s (verifying a large problem); --stall-seconds ${o.stallMs / 1000} is too close: raise it on every worker, or its jobs may be handed to other workers`);
      }
    }, 1000);
    try {
      for (const { device } of executor.devices) {
        const worker = new Worker(
          deviceQueue(device),
          async (bj) => {
            let job: FleetJob;
            try {
              job = parseJob(bj.data, `job ${bj.id}`);
            } catch (e) {
              throw new UnrecoverableError(`not a valid neotune job: ${(e as Error).message}`);
            }
            const label = jobLabel(job);
            await bj.log(`attempt ${bj.attemptsStarted} started by worker ${WORKER_NAME} at ${new Date().toISOString()}`);
            active.set(bj.id!, label);
            o.log(`neotune: started ${label} (job ${bj.id}, attempt ${bj.attemptsStarted})`);
            await register(since);
            injectFault(job);
            try {
              return await executor.run(job);
            } catch (e) {
              // Bad input (a kernel name this version does not have, a problem it cannot build) fails the same way everywhere: no retry.
              if (e instanceof InputError) throw new UnrecoverableError(e.message);
              throw e;
            } finally {
              active.delete(bj.id!);
              await register(since).catch(() => undefined);
            }
          },
          { connection: connections[connections.push(redis.duplicate()) - 1]!, concurrency: o.concurrency, lockDuration: o.stallMs, stalledInterval: o.stallMs, maxStalledCount: 1 },
        );
        worker.on('completed', (bj) => {
          completed++;
          o.log(`neotune: done ${jobLabel(bj.data as FleetJob)} (run ${(bj.data as FleetJob).run})`);
        });
        worker.on('failed', (bj, err) => {
          failed++;
          o.log(`neotune: failed ${bj ? jobLabel(bj.data as FleetJob) : 'a job'}: ${err.message}`);
        });
        worker.on('error', (err) => o.log(`neotune: worker error: ${err.message}`));
        workers.push(worker);
      }
      o.log(`neotune: worker ${WORKER_NAME} serving ${executor.devices.map((d) => `${d.backend} (device key ${JSON.stringify(d.device)})`).join(', ')} on ${url}`);
      await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
      if (active.size) o.log(`neotune: stopping after the job(s) in progress: ${[...active.values()].join(', ')} (Ctrl-C again stops now; the job is then retried by another worker)`);
      await Promise.all(workers.map((w) => w.close()));
    } finally {
      clearInterval(beat);
      clearInterval(watch);
    }
  } finally {
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    await redis.hdel(WORKERS_KEY, WORKER_NAME).catch(() => undefined);
    for (const c of connections) c.disconnect();
    redis.disconnect();
  }
  return { completed, failed };
}

/** Queues a run: its parent job and one child per job, each in its device's queue. */
export async function enqueueRun(url: string, run: string, jobs: readonly FleetJob[], meta: { suite: string; command: string }): Promise<void> {
  const redis = await connectRedis(url);
  const flows = new FlowProducer({ connection: redis });
  try {
    for (const device of new Set(jobs.map((j) => j.device))) {
      await redis.hset(QUEUES_KEY, deviceQueue(device), device);
      await redis.sadd(ENQUEUED_KEY, deviceQueue(device));
    }
    await flows.add({
      name: 'run',
      queueName: RUNS_QUEUE,
      data: { run, jobs: jobs.length, suite: meta.suite, command: meta.command, created: new Date().toISOString() },
      opts: { jobId: run },
      children: jobs.map((job, i) => ({
        name: 'tune',
        queueName: deviceQueue(job.device),
        data: job,
        opts: { jobId: jobId(job, i), attempts: JOB_ATTEMPTS, backoff: { type: 'fixed', delay: 1000 }, ignoreDependencyOnFailure: true, removeOnComplete: false, removeOnFail: false },
      })),
    });
  } finally {
    await flows.close();
    redis.disconnect();
  }
}

/** The child's queue and id from a parent's dependency key ("bull:<queue>:<id>"). */
function childRef(key: string): { queue: string; id: string } {
  const m = /^bull:([^:]+):(.+)$/.exec(key);
  if (!m) throw new Error(`unexpected BullMQ job key ${key}`);
  return { queue: m[1]!, id: m[2]! };
}

/** Why a job was quarantined, in words: BullMQ's reason and which workers started it. */
async function quarantineReason(queue: Queue, id: string, failure: string): Promise<string> {
  const { logs } = await queue.getJobLogs(id);
  const starts = logs.filter((l) => l.includes('started by worker')).map((l) => /worker (\S+)/.exec(l)?.[1] ?? '?');
  const stalled = /stalled more than/i.test(failure);
  const what = stalled ? `its worker stopped (killed or crashed) while running it, ${starts.length} time(s)` : failure;
  return `quarantined after ${starts.length} attempt(s): ${what}${starts.length ? `; started by ${starts.join(', ')}` : ''}`;
}

export interface CollectOptions {
  readonly wait: boolean;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  progress?(p: { done: number; total: number; failed: number; current: string }): void;
  log(s: string): void;
}

/**
 * Merges the results of run `run` into the database as they arrive (with `wait`, until every job
 * has completed or been quarantined; without, what is done now). A run whose every job is in is
 * removed from Redis after the merge.
 */
export async function collectRun(url: string, run: string, merger: ResultMerger, o: CollectOptions): Promise<FleetOutcome & { finished: boolean }> {
  const redis = await connectRedis(url);
  const queues = new Map<string, Queue>();
  const queueOf = (name: string) => queues.get(name) ?? queues.set(name, new Queue(name, { connection: redis })).get(name)!;
  const seen = new Set<string>();
  const quarantined: { job: string; reason: string }[] = [];
  let completed = 0;
  try {
    const parent = await Job.fromId(queueOf(RUNS_QUEUE), run);
    if (!parent) throw new InputError('run', run, `the id of a run queued on ${url} and not yet collected (neotune fleet status lists them)`);
    const total = Number((parent.data as { jobs?: number }).jobs ?? 0);
    for (;;) {
      const values = await parent.getChildrenValues();
      for (const [key, value] of Object.entries(values)) {
        if (seen.has(key)) continue;
        seen.add(key);
        const { queue, id } = childRef(key);
        const child = await Job.fromId(queueOf(queue), id);
        if (!child) continue;
        const job = parseJob(child.data, `job ${id}`);
        await merger.merge(job, value, `result of job ${id}`);
        completed++;
      }
      for (const [key, failure] of Object.entries(await parent.getIgnoredChildrenFailures())) {
        if (seen.has(key)) continue;
        seen.add(key);
        const { queue, id } = childRef(key);
        const child = await Job.fromId(queueOf(queue), id);
        const label = child ? jobLabel(parseJob(child.data, `job ${id}`)) : id;
        quarantined.push({ job: label, reason: await quarantineReason(queueOf(queue), id, failure) });
        o.log(`neotune: ${label}: ${quarantined.at(-1)!.reason}`);
      }
      const done = completed + quarantined.length;
      o.progress?.({ done, total, failed: quarantined.length, current: `${done} of ${total} jobs in` });
      if (done >= total || !o.wait || o.signal?.aborted) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
    const finished = completed + quarantined.length >= total;
    if (finished) await parent.remove();
    return { total, completed, quarantined, finished };
  } finally {
    for (const q of queues.values()) await q.close();
    redis.disconnect();
  }
}

export interface FleetStatus {
  readonly queues: readonly { queue: string; device: string; waiting: number; active: number; completed: number; failed: number; delayed: number }[];
  readonly workers: readonly { name: string; devices: readonly string[]; since: string; seen_s: number; job: string | null }[];
  readonly runs: readonly { run: string; suite: string; jobs: number; state: string; created: string }[];
}

/** Queues (device keys) with their job counts, workers with their last heartbeat, and runs not yet collected. */
export async function fleetStatus(url: string): Promise<FleetStatus> {
  const redis = await connectRedis(url);
  const opened: Queue[] = [];
  const open = (name: string) => {
    const q = new Queue(name, { connection: redis });
    opened.push(q);
    return q;
  };
  try {
    const queues = [];
    for (const [queue, device] of Object.entries(await redis.hgetall(QUEUES_KEY)).sort((a, b) => a[1].localeCompare(b[1]))) {
      const c = await open(queue).getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
      queues.push({ queue, device, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, delayed: c.delayed ?? 0 });
    }
    const now = Date.now();
    const workers = Object.entries(await redis.hgetall(WORKERS_KEY))
      .map(([name, text]) => {
        const w = JSON.parse(text) as WorkerRecord;
        return { name, devices: w.devices.map((d) => d.device), since: w.since, seen_s: Math.round((now - w.seen) / 1000), job: w.job };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    const runs = [];
    const rq = open(RUNS_QUEUE);
    for (const j of await rq.getJobs(['waiting-children', 'waiting', 'active', 'completed', 'failed'])) {
      const d = j.data as { run: string; suite: string; jobs: number; created: string };
      runs.push({ run: d.run, suite: d.suite, jobs: d.jobs, state: (await j.getState()) === 'waiting-children' ? 'running' : 'all jobs in', created: d.created });
    }
    return { queues, workers, runs };
  } finally {
    for (const q of opened) await q.close();
    redis.disconnect();
  }
}

/** Device keys of workers that sent a heartbeat recently, with their backends. */
export async function liveDevices(url: string): Promise<{ device: string; backend: string; workers: number }[]> {
  const redis = await connectRedis(url);
  try {
    const now = Date.now();
    const by = new Map<string, { device: string; backend: string; workers: number }>();
    for (const text of Object.values(await redis.hgetall(WORKERS_KEY))) {
      const w = JSON.parse(text) as WorkerRecord;
      if (now - w.seen > 3 * HEARTBEAT_MS) continue;
      for (const d of w.devices) {
        const e = by.get(d.device) ?? { ...d, workers: 0 };
        e.workers++;
        by.set(d.device, e);
      }
    }
    return [...by.values()];
  } finally {
    redis.disconnect();
  }
}
