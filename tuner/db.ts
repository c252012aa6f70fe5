/**
 * The tuning database: one JSON file, versioned, written atomically after every evaluated
 * candidate (a killed run loses at most the candidate in flight and resumes where it stopped).
 *
 * Entries are keyed by device fingerprint, backend and problem (N, C, H, W, cell spec, dtype);
 * candidates inside an entry by configuration and the hash of the generated kernel source, so a
 * change to a generator never reuses a stale timing. A file that does not parse is copied aside
 * and reported with both paths, never silently replaced; other versions are migrated or refused
 * with the version found.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/files.js';
import type { ProblemRecord } from '../harness/problem.js';
import type { RecordState } from '../harness/results.js';
import type { TimingQuality } from '../harness/stability.js';
import type { BackendName, DeviceInfo } from '../harness/types.js';
import type { Config } from './space.js';
import type { Winner } from './winner.js';

export const DB_SCHEMA = 'neotune-tuning-db';
export const DB_VERSION = 1;

export interface CandidateRecord {
  readonly key: string;
  readonly config: Config;
  readonly source_hash: string | null;
  readonly state: RecordState;
  readonly median_ms?: number;
  readonly samples_ms?: readonly number[];
  readonly timing_method?: string;
  /** Clean/total samples, what was set aside and whether the timing is stable (harness/stability.ts). */
  readonly quality?: TimingQuality;
  readonly max_rel_err?: number;
  readonly error?: string;
  /** Executed FLOPs the kernel reported (dense and Strassen-like variants differ from useful). */
  readonly executed_flops?: number | null;
}

export interface DbEntry {
  readonly device: string;
  readonly backend: BackendName;
  readonly problem: ProblemRecord;
  /** By `${configKey}@${source_hash}`. */
  candidates: Record<string, CandidateRecord>;
  winner?: Winner;
  /** How the winner was found: strategy, seed, evaluations. */
  search?: { strategy: string; seed: number; evaluations: number; space: number; pruned: number };
}

export interface TuningDb {
  schema: typeof DB_SCHEMA;
  version: typeof DB_VERSION;
  entries: Record<string, DbEntry>;
}

export class DbError extends Error {
  override readonly name = 'DbError';
}

/** The device as the database keys it: backend plus the device's own description and details. */
export function deviceFingerprint(device: DeviceInfo): string {
  const d = device.details;
  const extra = ['vendor', 'architecture', 'device', 'driver', 'browser', 'renderer', 'threads', 'node'].filter((k) => d[k] !== undefined).map((k) => `${k}=${String(d[k])}`);
  return [device.backend, device.description, ...extra].join(' | ');
}

export function entryKey(device: string, problem: ProblemRecord): string {
  return `${device} || ${problem.op} ${problem.N}x${problem.C}x${problem.H}x${problem.W} ${problem.spec} ${problem.dtype}`;
}

export function candidateKey(configKey: string, sourceHash: string | null): string {
  return `${configKey}@${sourceHash ?? 'none'}`;
}

export function emptyDb(): TuningDb {
  return { schema: DB_SCHEMA, version: DB_VERSION, entries: {} };
}

/** Migrations from older versions, by the version they read (none yet: version 1 is the first). */
const MIGRATIONS: Record<number, (old: Record<string, unknown>) => unknown> = {};

export function parseDb(text: string, path: string): TuningDb {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text) as Record<string, unknown>;
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('not a JSON object');
  } catch (e) {
    throw new DbError(`${path}: not a readable tuning database (${(e as Error).message})`);
  }
  if (data.schema !== DB_SCHEMA) throw new DbError(`${path}: field schema is ${JSON.stringify(data.schema)}, expected "${DB_SCHEMA}"`);
  let version = data.version;
  while (typeof version === 'number' && version < DB_VERSION && MIGRATIONS[version]) {
    data = MIGRATIONS[version]!(data) as Record<string, unknown>;
    version = data.version;
  }
  if (version !== DB_VERSION) {
    throw new DbError(
      typeof version === 'number' && version > DB_VERSION
        ? `${path}: tuning database version ${version} was written by a newer neotune (this one reads version ${DB_VERSION})`
        : `${path}: tuning database version ${JSON.stringify(version)} is not supported and cannot be migrated (this neotune reads version ${DB_VERSION}); re-tune into a new file`,
    );
  }
  if (!data.entries || typeof data.entries !== 'object') throw new DbError(`${path}: field entries is not an object`);
  return data as unknown as TuningDb;
}

/**
 * Opens a database; a missing file is an empty database. A file that cannot be parsed is copied
 * to `<path>.corrupt-<time>` and reported: the caller decides, nothing is overwritten.
 */
export function openDb(path: string): TuningDb {
  if (!existsSync(path)) return emptyDb();
  const text = readFileSync(path, 'utf8');
  try {
    return parseDb(text, path);
  } catch (e) {
    if (e instanceof DbError && /not a readable/.test(e.message)) {
      const backup = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      copyFileSync(path, backup);
      throw new DbError(`${e.message}; a copy is kept at ${backup}. Move the file away (or pass another --db) to start a new database`);
    }
    throw e;
  }
}

/** Deterministic serialisation (sorted keys), written atomically. */
export function saveDb(path: string, db: TuningDb): void {
  writeFileAtomic(path, stableStringify(db) + '\n');
}

export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 1);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Of two records of the same candidate, the one with more samples (then lower median, then text order). */
function preferred(a: CandidateRecord, b: CandidateRecord): CandidateRecord {
  const na = a.samples_ms?.length ?? 0;
  const nb = b.samples_ms?.length ?? 0;
  if (na !== nb) return na > nb ? a : b;
  const ma = a.median_ms ?? Infinity;
  const mb = b.median_ms ?? Infinity;
  if (ma !== mb) return ma < mb ? a : b;
  return stableStringify(a) <= stableStringify(b) ? a : b;
}

/**
 * Merges two databases (e.g. from two machines, or two runs): the union of entries and candidates;
 * for a candidate in both, the better-measured record. Winners are recomputed by `rewin` from the
 * merged candidates. Commutative and deterministic: merge(a, b) and merge(b, a) serialise the same.
 */
export function mergeDbs(a: TuningDb, b: TuningDb, rewin: (e: DbEntry) => Winner | undefined): TuningDb {
  const out = emptyDb();
  for (const key of [...new Set([...Object.keys(a.entries), ...Object.keys(b.entries)])].sort()) {
    const ea = a.entries[key];
    const eb = b.entries[key];
    const base = (ea ?? eb)!;
    const candidates: Record<string, CandidateRecord> = {};
    for (const ck of [...new Set([...Object.keys(ea?.candidates ?? {}), ...Object.keys(eb?.candidates ?? {})])].sort()) {
      const ca = ea?.candidates[ck];
      const cb = eb?.candidates[ck];
      candidates[ck] = ca && cb ? preferred(ca, cb) : (ca ?? cb)!;
    }
    const entry: DbEntry = { device: base.device, backend: base.backend, problem: base.problem, candidates };
    const w = rewin(entry);
    if (w) entry.winner = w;
    out.entries[key] = entry;
  }
  return out;
}
