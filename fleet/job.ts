/**
 * The fleet's job protocol, shared by the Redis (BullMQ) fleet and the in-process one: a job is one
 * problem (or one slice of its search space) to tune on one device; its result is the database
 * entry the worker measured. Both cross process boundaries as JSON and are validated on arrival
 * (a job with Ajv before a worker runs it, a result as a tuning database before it is merged).
 */
import { createHash } from 'node:crypto';
import type { ChannelSpecInput } from '../core/spec.js';
import { dwconvProblem, neoCellProblem } from '../harness/problem.js';
import type { BackendName, Dtype, Params, Problem } from '../harness/types.js';
import { validateShape } from '../core/validate.js';
import { CONFIG_SCHEMA } from '../tuner/db-schema.js';
import type { DbEntry } from '../tuner/db.js';
import type { Config } from '../tuner/space.js';
import type { TuneBudget } from '../tuner/tune.js';

export const JOB_VERSION = 1;

/** A problem as a job carries it: shape, dtype and the cell's groups (or the depthwise kernel size), rebuilt and validated by the worker. */
export interface JobProblem {
  readonly op: 'neocell' | 'dwconv';
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly dtype: Dtype;
  readonly groups?: readonly ChannelSpecInput[];
  readonly K?: number;
}

/** One unit of fleet work: tune `problem` (slice `slice.index` of `slice.count`) on the device `device`. */
export interface FleetJob {
  readonly v: typeof JOB_VERSION;
  /** The fleet run it belongs to. */
  readonly run: string;
  /** The device key (tuner/db.ts deviceFingerprint) whose worker may run it. */
  readonly device: string;
  readonly backend: BackendName;
  /** The suite case it comes from (progress lines). */
  readonly case: string;
  readonly problem: JobProblem;
  readonly strategy: string;
  readonly seed: number;
  readonly budget: TuneBudget;
  readonly slice: { readonly index: number; readonly count: number };
  readonly kernels?: readonly string[];
  readonly pin?: Params;
  readonly warm_start?: readonly Config[];
  /** Execution time allowed (from the moment a worker starts it, not from when it was queued): the search stops after the candidate in progress. */
  readonly timeout_ms: number;
}

/** What a worker returns for a job: the entry it measured (candidates, winner, search record). */
export interface JobResult {
  readonly v: typeof JOB_VERSION;
  /** `host/pid` of the worker process. */
  readonly worker: string;
  readonly entry: DbEntry;
  readonly evaluated: number;
  /** Execution time of the job on the worker, ms (queue time not included). */
  readonly exec_ms: number;
  /** Why the search ended before its budget, when it did ("timeout"). */
  readonly stopped?: string;
}

const int = { type: 'integer', minimum: 0 } as const;
const pos = { type: 'integer', minimum: 1 } as const;
const GROUP_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(['channels', 'kernel', 'kernel_a', 'kernel_b', 'h_in', 'h_out', 'w_in', 'w_out', 'shift', 'shift_a', 'shift_b'].map((k) => [k, int])),
} as const;

export const JOB_SCHEMA = {
  type: 'object',
  required: ['v', 'run', 'device', 'backend', 'case', 'problem', 'strategy', 'seed', 'budget', 'slice', 'timeout_ms'],
  additionalProperties: false,
  properties: {
    v: { const: JOB_VERSION },
    run: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    device: { type: 'string', minLength: 1, maxLength: 1000 },
    backend: { enum: ['cpu', 'webgpu', 'webgpu-browser', 'gpujs', 'gpujs-browser'] },
    case: { type: 'string', maxLength: 200 },
    problem: {
      type: 'object',
      required: ['op', 'N', 'C', 'H', 'W', 'dtype'],
      additionalProperties: false,
      properties: { op: { enum: ['neocell', 'dwconv'] }, N: pos, C: pos, H: pos, W: pos, dtype: { enum: ['float32', 'float16'] }, groups: { type: 'array', minItems: 1, maxItems: 64, items: GROUP_SCHEMA }, K: pos },
    },
    strategy: { type: 'string', maxLength: 40 },
    seed: { type: 'integer' },
    budget: {
      type: 'object',
      additionalProperties: false,
      properties: { evaluations: pos, fraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 }, timeMs: { type: 'number', exclusiveMinimum: 0 } },
    },
    slice: { type: 'object', required: ['index', 'count'], additionalProperties: false, properties: { index: int, count: pos } },
    kernels: { type: 'array', items: { type: 'string', maxLength: 80 }, maxItems: 100 },
    pin: { type: 'object', additionalProperties: { type: ['number', 'string', 'boolean'] } },
    warm_start: { type: 'array', items: CONFIG_SCHEMA, maxItems: 16 },
    timeout_ms: { type: 'number', exclusiveMinimum: 0 },
  },
} as const;

/** A job as received (from Redis or a test), checked field by field; an InputError names the field. */
export function parseJob(data: unknown, where: string): FleetJob {
  const job = validateShape<FleetJob>(JOB_SCHEMA, data, where);
  if (job.slice.index >= job.slice.count) throw new Error(`${where}: slice.index ${job.slice.index} is not below slice.count ${job.slice.count}`);
  return job;
}

/** The problem a job carries, as the tuner needs it (validated like any user input). */
export function jobProblem(p: JobProblem): Problem {
  if (p.op === 'dwconv') return dwconvProblem({ N: p.N, C: p.C, H: p.H, W: p.W, dtype: p.dtype, K: p.K ?? 7 });
  return neoCellProblem({ N: p.N, C: p.C, H: p.H, W: p.W, dtype: p.dtype, spec: p.groups ?? [] });
}

/** A problem in a job's form (the cell's groups written out explicitly). */
export function toJobProblem(p: Problem): JobProblem {
  const shape = { N: p.N, C: p.C, H: p.H, W: p.W, dtype: p.dtype };
  if (p.op === 'dwconv') return { op: 'dwconv', ...shape, K: p.K };
  if (p.op !== 'neocell') throw new Error(`a fleet job tunes NeoCell and depthwise problems, not ${p.op}`);
  const groups = p.cell.groups.map((g) => ({ channels: g.channels, h_in: g.a.in, h_out: g.a.out, shift_a: g.a.shift, w_in: g.b.in, w_out: g.b.out, shift_b: g.b.shift }));
  return { op: 'neocell', ...shape, groups };
}

/** BullMQ queue of a device key: the key hashed (device keys hold characters queue names must not). */
export function deviceQueue(device: string): string {
  return `neotune-dev-${createHash('sha256').update(device).digest('hex').slice(0, 16)}`;
}

/** A short readable name of a job: case, problem, slice. */
export function jobLabel(job: FleetJob): string {
  return `${job.case}${job.slice.count > 1 ? ` (slice ${job.slice.index + 1}/${job.slice.count})` : ''}`;
}

/** Attempts of a job that fails (an exception); a job whose worker dies is retried once (maxStalledCount 1), then quarantined. */
export const JOB_ATTEMPTS = 2;
