/**
 * The versioned result-file format written by `neotune bench --out` and read by reports,
 * comparisons and the tuner. Bump RESULTS_VERSION on any incompatible change and add a migration
 * to `readResults`.
 */
import { InputError } from '../core/errors.js';
import { parseJsonInput, readTextFile, writeFileAtomic, type WriteOptions } from '../core/files.js';
import { validateShape } from '../core/validate.js';
import { RESULT_FILE_SCHEMA } from './results-schema.js';
import type { ModelName } from '../core/network.js';
import type { Environment } from './environment.js';
import type { ProblemRecord } from './problem.js';
import type { TimingQuality } from './types.js';
import type { BackendName, CeilingRecord, KernelRole, Params } from './types.js';

/** The `schema` field of every result file. */
export const RESULTS_SCHEMA = 'neotune-results';
/** 2: records typed by `state` (version 1 also had a `verified` flag, dropped on reading). */
export const RESULTS_VERSION = 2;

export type RecordState = 'verified' | 'mismatch' | 'failed' | 'rejected';

/** What every record has, whatever became of the kernel. */
export interface RecordBase {
  backend: BackendName;
  /** Variant name (e.g. "sparse"), baseline ("dwconv"), ceiling ("copy") or peer name. */
  kernel: string;
  role: KernelRole;
  params: Params;
  problem: ProblemRecord;
  /**
   * Why a figure of this record must not be used as a result (unstable timing, faster than the
   * machine's measured ceilings, software renderer…): flagged records are never "best".
   */
  flags?: string[];
  /** Useful FLOPs of the problem (zeros skipped), what this kernel executed, and a depthwise 7×7 conv's. */
  flops: { useful: number; executed: number | null; dwconv7_equivalent: number };
  bytes: number;
  /** sha256 of the generated code (prefix), so results and tuning entries follow code changes. */
  source_hash?: string;
  /** The backend's device description (CPU model, adapter, renderer, browser version). */
  device: string;
  /** The device is a software renderer (SwiftShader, llvmpipe…): times are correctness runs, not GPU performance. */
  software?: boolean;
  /**
   * Counts that do not depend on the machine's load, compared exactly by `neotune compare`:
   * executed multiply-adds (lane waste and zeros included) and static counts of the generated code.
   */
  proxies?: { executed_macs: number | null; code_lines: number; code_memory_ops: number };
  /**
   * The exact lane: operations one call executes, by class, from the backend's counting build of
   * this kernel (the same on every machine and in every run; compared exactly).
   */
  operations?: Record<string, number>;
  /** Suite case this record belongs to (layer name) and how often that layer occurs per forward pass. */
  case?: string;
  occurrences?: number;
}

/** The timing of a verified kernel (absent when it was verified only). */
export interface TimingFields {
  median_ms?: number;
  p10_ms?: number;
  p90_ms?: number;
  /** Clean samples (those with evidence of pre-emption are in set_aside_ms); the median comes from these. */
  samples_ms?: number[];
  /** Samples set aside as disturbed (kept for the record, not used). */
  set_aside_ms?: number[];
  /** Whether the timing can be trusted: clean/total samples, why set aside, shape, median CI. */
  quality?: TimingQuality;
  /** Medians of separate rounds (runs) pooled into this record, e.g. by interleaved A/B. */
  rounds_ms?: number[];
  timing_method?: string;
  /** The same kernel timed without reading its output back (gpu.js pipeline mode), when the backend can. */
  without_readback?: { median_ms: number; p10_ms: number; p90_ms: number; method: string };
}

/** Only a verified kernel is ever timed: other records have no timing fields at all. */
type Untimed = { [K in keyof TimingFields]?: undefined };

/** Matched the float64 reference (and was timed unless verify-only). */
export interface VerifiedRecord extends RecordBase, TimingFields {
  state: 'verified';
  max_rel_err: number;
  error?: undefined;
}
/** Ran, but its output is wrong: never timed. */
export interface MismatchRecord extends RecordBase, Untimed {
  state: 'mismatch';
  max_rel_err: number;
  error: string;
}
/** Threw (failed) or its parameters are invalid for the problem or device (rejected): never run or timed. */
export interface FailedRecord extends RecordBase, Untimed {
  state: 'failed' | 'rejected';
  max_rel_err?: undefined;
  error: string;
}

/** One kernel of a run, typed by what became of it (`state`). */
export type ResultRecord = VerifiedRecord | MismatchRecord | FailedRecord;

/** A result file (bench --out, run): what ran, on which devices, and one record per kernel and problem with every sample and its evidence. */
export interface ResultFile {
  schema: typeof RESULTS_SCHEMA;
  version: typeof RESULTS_VERSION;
  created: string;
  command: string;
  environment: Environment;
  records: ResultRecord[];
  /** Ceilings measured in the same run (e.g. the WASM SIMD peak per thread count). */
  ceilings?: CeilingRecord[];
  /** The run was stopped (Ctrl-C) before every kernel was measured: the records are what was. */
  interrupted?: boolean;
  /** The suite that ran (reports are titled by it; a network suite adds the per-layer chart and estimate). */
  suite?: { name: string; description: string; network?: { model: ModelName; resolution: number } };
  /** Present when the run tuned first (`neotune run`): how, and where the choices are stored. */
  tuning?: { strategy: string; effort: string; budget: string; database: string };
}

export function resultText(file: ResultFile): string {
  return JSON.stringify(file, null, 1) + '\n';
}

/** Writes a result file atomically (temporary file, fsync, rename); the path is checked before anything is written. */
export function writeResults(path: string, file: ResultFile, o: WriteOptions = {}): void {
  writeFileAtomic(path, resultText(file), o);
}

/** Reads and validates a result file; `field` names the option or argument it came from. */
export function readResults(path: string, field = 'results'): ResultFile {
  const what = 'a result file written by neotune (bench --out, or results.json of neotune run)';
  const data = parseJsonInput(field, path, readTextFile(field, path, { what }), what) as { schema?: unknown; version?: unknown; records?: unknown };
  if (data?.schema !== RESULTS_SCHEMA) throw new InputError(`${path}: schema`, data?.schema, JSON.stringify(RESULTS_SCHEMA), 'not a neotune result file');
  if (data.version !== 1 && data.version !== RESULTS_VERSION) throw new InputError(`${path}: version`, data.version, `1 or ${RESULTS_VERSION}`, 'a result format this neotune does not read');
  const file = validateShape<ResultFile>(RESULT_FILE_SCHEMA, data, path);
  // 1 → 2: `verified` duplicated `state`; the state says it all.
  if ((data.version as number) === 1) return { ...file, version: RESULTS_VERSION, records: file.records.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'verified')) as unknown as ResultRecord) };
  return file;
}
