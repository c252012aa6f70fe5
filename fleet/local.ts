/**
 * The fleet without Redis: `workers` in-process workers take the run's jobs from one queue, with
 * the same protocol (jobs and results serialised as JSON and validated on both ends), retries and
 * quarantine as the Redis fleet. Jobs for one device still measure one at a time (the executor's
 * lock): in-process workers overlap only across devices.
 */
import { InputError } from '../core/errors.js';
import { type JobExecutor } from './execute.js';
import { type FleetJob, jobLabel, parseJob } from './job.js';

/** How a fleet run went, whichever carried it. */
export interface FleetOutcome {
  readonly total: number;
  readonly completed: number;
  /** Jobs given up on after their attempts, with the reason. */
  readonly quarantined: readonly { readonly job: string; readonly reason: string }[];
}

export interface LocalFleetOptions {
  readonly workers: number;
  /** Attempts per job before it is quarantined. */
  readonly attempts: number;
  readonly signal?: AbortSignal;
  /** A job's result (already serialised and parsed back, as from Redis). */
  onResult(job: FleetJob, result: unknown, where: string): Promise<void>;
  progress?(p: { done: number; total: number; failed: number; current: string }): void;
  log(s: string): void;
}

export async function runLocalFleet(jobs: readonly FleetJob[], executor: JobExecutor, o: LocalFleetOptions): Promise<FleetOutcome> {
  const queue = jobs.map((job, i) => ({ id: `${job.run}.${i}`, text: JSON.stringify(job), attempts: 0 }));
  const quarantined: { job: string; reason: string }[] = [];
  let completed = 0;
  const served = new Set(executor.devices.map((d) => d.device));
  const worker = async (w: number) => {
    for (let item = queue.shift(); item && !o.signal?.aborted; item = queue.shift()) {
      const job = parseJob(JSON.parse(item.text), `job ${item.id}`);
      const label = jobLabel(job);
      if (!served.has(job.device)) {
        quarantined.push({ job: label, reason: `no local worker serves device ${JSON.stringify(job.device)}` });
        continue;
      }
      o.progress?.({ done: completed + quarantined.length, total: jobs.length, failed: quarantined.length, current: `${label} on worker ${w + 1}` });
      try {
        item.attempts++;
        const result = JSON.parse(JSON.stringify(await executor.run(job, o.signal)));
        await o.onResult(job, result, `job ${item.id}`);
        completed++;
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        // Bad input (an unknown kernel, an invalid problem) fails the same way on every attempt.
        if (item.attempts < o.attempts && !o.signal?.aborted && !(e instanceof InputError)) {
          o.log(`neotune: ${label}: attempt ${item.attempts} failed (${reason}); retrying`);
          queue.push(item);
        } else quarantined.push({ job: label, reason: `quarantined after ${item.attempts} attempt(s): ${reason}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.workers) }, (_, w) => worker(w)));
  o.progress?.({ done: completed + quarantined.length, total: jobs.length, failed: quarantined.length, current: 'done' });
  return { total: jobs.length, completed, quarantined };
}
