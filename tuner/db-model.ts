/**
 * The tuning database's model: its types, keys and what a candidate keeps, without any file
 * access, so the search (tuner/tune.ts) runs wherever the kernels do (Node or a page). The files
 * (snapshot, journal, lock) are tuner/db.ts's.
 */
import type { ProblemRecord } from '../harness/problem.js';
import type { RecordState } from '../harness/results.js';
import { sortedQuantile } from '../harness/stats.js';
import type { BackendName, DeviceInfo, TimingQuality } from '../harness/types.js';
import type { Config } from './space.js';
import type { Winner } from './winner.js';

export const DB_SCHEMA = 'neotune-tuning-db';
export const DB_VERSION = 2;
/** Samples kept per candidate (the winner tests thin to this many anyway). */
export const DB_SAMPLES = 256;

/** One measured candidate of a tuning entry: configuration, state, quantiles of its clean samples, evidence. */
export interface CandidateRecord {
  readonly key: string;
  readonly config: Config;
  readonly source_hash: string | null;
  readonly state: RecordState;
  readonly median_ms?: number;
  /** At most DB_SAMPLES quantiles of the clean samples (see storedSamples). */
  readonly samples_ms?: readonly number[];
  readonly timing_method?: string;
  /** Clean/total samples, what was set aside and whether the timing is stable (harness/stability.ts). */
  readonly quality?: TimingQuality;
  readonly max_rel_err?: number;
  readonly error?: string;
  /** Executed FLOPs the kernel reported (dense and Strassen-like variants differ from useful). */
  readonly executed_flops?: number | null;
}

export interface SearchRecord {
  strategy: string;
  seed: number;
  evaluations: number;
  space: number;
  pruned: number;
}

/** The tuning of one problem on one device: every candidate measured and the winner chosen among them. */
export interface DbEntry {
  readonly device: string;
  readonly backend: BackendName;
  readonly problem: ProblemRecord;
  /** By `${configKey}@${source_hash}`. */
  candidates: Record<string, CandidateRecord>;
  winner?: Winner;
  /** How the winner was found: strategy, seed, evaluations. */
  search?: SearchRecord;
  /** Submitted from a visitor's browser to `neotune serve --collect` (not measured by neotune's own processes). */
  measured_in?: 'visitor-browser';
}

/** A tuning database: entries keyed by device and problem. */
export interface TuningDb {
  schema: typeof DB_SCHEMA;
  version: typeof DB_VERSION;
  entries: Record<string, DbEntry>;
}

/** The device as the database keys it: backend plus the device's own description and details. */
export function deviceFingerprint(device: DeviceInfo): string {
  const d = device.details;
  const extra = ['vendor', 'architecture', 'device', 'driver', 'browser', 'renderer', 'threads', 'node'].filter((k) => d[k] !== undefined).map((k) => `${k}=${String(d[k])}`);
  return [device.backend, device.description, ...extra].join(' | ');
}

/**
 * Why an entry's winner has no trustworthy time (its timing unstable, with the reason), or
 * undefined: a speedup or comparison is never computed from such a time.
 */
export function winnerUnstable(entry: DbEntry): string | undefined {
  const w = entry.winner;
  if (!w) return undefined;
  const c = Object.values(entry.candidates).find((x) => x.key === w.key && x.state === 'verified');
  if (c?.quality && !c.quality.stable) return c.quality.reasons[0] ?? 'unstable timing';
  if (w.confidence.unstable) return 'no candidate had a stable timing';
  return undefined;
}

/** Why a NeoCell-vs-depthwise comparison is withheld (the first unstable side, with its reason), or undefined when both timings stand. */
export function comparisonUnstable(neocell: string | null | undefined, dwconv: string | null | undefined): string | undefined {
  return neocell ? `NeoCell timing unstable: ${neocell}` : dwconv ? `depthwise 7×7 timing unstable: ${dwconv}` : undefined;
}

export function entryKey(device: string, problem: ProblemRecord): string {
  return `${device} || ${problem.op} ${problem.N}x${problem.C}x${problem.H}x${problem.W} ${problem.spec} ${problem.dtype}`;
}

export function candidateKey(configKey: string, sourceHash: string | null): string {
  return `${configKey}@${sourceHash ?? 'none'}`;
}

/** A tuning database with no entries. */
export function emptyDb(): TuningDb {
  return { schema: DB_SCHEMA, version: DB_VERSION, entries: {} };
}

/** 5 significant digits: far below any timing's noise, a third of the text of a full double. */
export const round5 = (v: number) => Number(v.toPrecision(5));

/** The samples a candidate keeps: sorted, at most DB_SAMPLES evenly spaced quantiles (min and max included). */
export function storedSamples(samples: readonly number[]): number[] {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length <= DB_SAMPLES) return sorted.map(round5);
  return Array.from({ length: DB_SAMPLES }, (_, i) => round5(sortedQuantile(sorted, i / (DB_SAMPLES - 1))));
}
