/**
 * The coordinator's side of a fleet run, whatever carries the jobs (Redis or in-process workers):
 * the jobs of a suite for each device key, and the merging of returned entries into the tuning
 * database as they arrive (journal appends under the database's lock; a result merged twice, as
 * after a retried job, changes nothing).
 */
import { randomBytes } from 'node:crypto';
import type { BackendName, Params, Problem } from '../harness/types.js';
import { backendEntry } from '../kernels/registry.js';
import { type DbEntry, DB_SCHEMA, DB_VERSION, entryKey, parseDb, type SearchRecord, type TuningDb, type TuningStore } from '../tuner/db.js';
import { entryWinnerAsTuned, type TuneBudget, warmStarts } from '../tuner/tune.js';
import { shippedModel } from '../tuner/shipped-space.js';
import { type FleetJob, JOB_VERSION, type JobResult, toJobProblem } from './job.js';

/** A device a run tunes for: its key (a worker's deviceFingerprint) and its backend. */
export interface FleetDevice {
  readonly device: string;
  readonly backend: BackendName;
}

export interface PlanOptions {
  readonly strategy: string;
  readonly seed: number;
  readonly budget: TuneBudget;
  /** Jobs per problem: each tunes every `slices`-th configuration of its space. */
  readonly slices: number;
  readonly kernels?: readonly string[];
  readonly pin?: Params;
  readonly timeoutMs: number;
  /** The database the run merges into: warm starts for each problem from its device's tuned problems. */
  readonly db?: TuningDb;
}

/** A new run id ("r" + time + random): names the run's jobs in Redis. */
export function newRunId(): string {
  return `r${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The jobs of a run: every problem on every device, in `slices` slices each. */
export function planJobs(run: string, problems: readonly { name: string; problem: Problem }[], devices: readonly FleetDevice[], o: PlanOptions): FleetJob[] {
  // Each problem's search starts from the winners of the device's other problems in the database, as `tune` does.
  const warm = (device: string, problem: Problem) => {
    const starts = o.db ? warmStarts(o.db, device, problem) : [];
    return starts.length ? { warm_start: starts } : {};
  };
  return devices.flatMap(({ device, backend }) =>
    problems.flatMap(({ name, problem }) =>
      Array.from({ length: o.slices }, (_, index) => ({
        v: JOB_VERSION,
        run,
        device,
        backend,
        case: name,
        problem: toJobProblem(problem),
        strategy: o.strategy,
        seed: o.seed,
        budget: o.budget,
        slice: { index, count: o.slices },
        ...(o.kernels ? { kernels: o.kernels } : {}),
        ...(o.pin ? { pin: o.pin } : {}),
        ...warm(device, problem),
        timeout_ms: o.timeoutMs,
      })),
    ),
  );
}

/** The job id of a job within its run (deterministic: adding it twice adds it once). */
export function jobId(job: FleetJob, i: number): string {
  return `${job.run}.${i}`;
}

/** Merges job results into a tuning database as they arrive; the winner of an entry once all its slices are in. */
export class ResultMerger {
  /** Per entry: slices merged (by slice index), candidate keys this run measured, search records. */
  private readonly entries = new Map<string, { slices: Map<number, JobResult>; current: Set<string>; count: number }>();
  private readonly variantsOf = new Map<string, readonly { readonly name: string }[]>();
  merged = 0;

  /** `log` is told of results whose search stopped early (a job's time limit, an interruption). */
  constructor(
    private readonly store: TuningStore,
    private readonly log: (s: string) => void = () => {},
  ) {}

  /**
   * Validates `result` as a tuning database entry for `job` and appends its candidates to the
   * journal; when this was the last slice of its entry, the entry's winner too. Returns false for
   * a result already merged (a retried job's second answer).
   */
  async merge(job: FleetJob, result: unknown, where: string): Promise<boolean> {
    const r = checkResult(job, result, where);
    const key = entryKey(r.entry.device, r.entry.problem);
    const state = this.entries.get(key) ?? { slices: new Map(), current: new Set<string>(), count: job.slice.count };
    this.entries.set(key, state);
    if (state.slices.has(job.slice.index)) return false;
    state.slices.set(job.slice.index, r);
    if (r.stopped) this.log(`neotune: ${job.case}${job.slice.count > 1 ? ` (slice ${job.slice.index + 1}/${job.slice.count})` : ''} stopped early (${r.stopped}); merging the ${r.evaluated} candidate(s) it measured`);
    const entry: DbEntry = (this.store.db.entries[key] ??= { device: r.entry.device, backend: r.entry.backend, problem: r.entry.problem, candidates: {} });
    for (const [ck, c] of Object.entries(r.entry.candidates)) {
      state.current.add(ck);
      await this.store.recordCandidate(entry, ck, c);
    }
    this.merged++;
    if (state.slices.size === state.count) await this.decide(key);
    return true;
  }

  /** Entries some of whose slices never came back (quarantined jobs): their winner from what did. */
  async finish(): Promise<string[]> {
    const partial = [...this.entries].filter(([, s]) => s.slices.size < s.count).map(([k]) => k);
    for (const k of partial) await this.decide(k);
    return partial;
  }

  private async decide(key: string): Promise<void> {
    const state = this.entries.get(key)!;
    const entry = this.store.db.entries[key]!;
    const results = [...state.slices.values()];
    // One slice: the worker's winner, re-validated side by side with its finalists. Several: the
    // statistical choice over every slice's current candidates (each slice re-validated its own).
    const only = state.count === 1 ? results[0]!.entry.winner : undefined;
    // Ties broken as the workers' tunes break them: by the favourite of the model they tune with.
    const winner = only ?? entryWinnerAsTuned(entry, await this.variants(entry.backend), shippedModel(), state.current);
    if (winner) entry.winner = winner;
    else delete entry.winner;
    const searches = results.map((r) => r.entry.search).filter((s): s is SearchRecord => s !== undefined);
    const first = searches[0];
    if (first) {
      const space = searches.reduce((a, s) => a + s.space, 0);
      entry.search = { strategy: first.strategy, seed: first.seed, evaluations: searches.reduce((a, s) => a + s.evaluations, 0), space, pruned: Math.max(0, first.space + first.pruned - space) };
    }
    if (entry.search) await this.store.recordWinner(entry);
  }

  private async variants(backend: string): Promise<readonly { readonly name: string }[]> {
    let v = this.variantsOf.get(backend);
    if (!v) {
      const e = backendEntry(backend);
      v = e.load ? (await e.load()).variants : [];
      this.variantsOf.set(backend, v);
    }
    return v;
  }
}

/** A worker's answer, checked as a tuning database entry for the job's device and problem (a wrong or damaged answer is refused, not merged). */
export function checkResult(job: FleetJob, result: unknown, where: string): JobResult {
  const r = result as Partial<JobResult> | null;
  if (!r || typeof r !== 'object' || r.v !== JOB_VERSION || !r.entry || typeof r.entry !== 'object') throw new Error(`${where}: not a neotune job result`);
  const e = r.entry as DbEntry;
  const key = entryKey(e.device, e.problem);
  const db = parseDb(JSON.stringify({ schema: DB_SCHEMA, version: DB_VERSION, entries: { [key]: e } }), where);
  const entry = db.entries[key]!;
  if (entry.device !== job.device) throw new Error(`${where}: result for device ${JSON.stringify(entry.device)}, job for ${JSON.stringify(job.device)}`);
  return { ...(r as JobResult), entry };
}

