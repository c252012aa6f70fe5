/**
 * JSON Schemas of the files neotune reads back: result files (`bench --out`, `run`), history
 * lines (`history append`) and noise profiles (`compare --aa --save-noise`). Checked on load, so
 * valid JSON of the wrong shape is reported with the field instead of crashing a report or
 * silently comparing nothing.
 */
import { MODEL_NAMES } from '../core/network.js';

const num = { type: 'number' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const times = { type: 'array', items: { type: 'number', minimum: 0 } } as const;
const paramValue = { type: ['number', 'string', 'boolean'] } as const;
const backend = { enum: ['cpu', 'webgpu', 'webgpu-browser', 'gpujs', 'gpujs-browser'] } as const;

export const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['op', 'N', 'C', 'H', 'W', 'dtype', 'spec', 'label'],
  additionalProperties: false,
  properties: {
    op: { enum: ['neocell', 'dwconv', 'copy'] },
    N: { type: 'integer', minimum: 1 },
    C: { type: 'integer', minimum: 1 },
    H: { type: 'integer', minimum: 1 },
    W: { type: 'integer', minimum: 1 },
    dtype: { enum: ['float32', 'float16'] },
    spec: { type: 'string', minLength: 1 },
    label: { type: 'string' },
    K: { type: 'integer', minimum: 1 },
  },
} as const;

export const QUALITY_SCHEMA = {
  type: 'object',
  required: ['stable', 'reasons', 'n_clean', 'n_total', 'set_aside', 'shape', 'ci_rel', 'target_rel'],
  properties: {
    stable: { type: 'boolean' },
    reasons: { type: 'array', items: { type: 'string' } },
    notes: { type: 'array', items: { type: 'string' } },
    n_clean: count,
    n_total: count,
    set_aside: { type: 'object', additionalProperties: count },
    shape: { enum: ['unimodal', 'bimodal', 'heavy-tailed'] },
    ci_rel: { type: ['number', 'null'] },
    target_rel: num,
  },
} as const;

const timingSummary = {
  type: 'object',
  required: ['median_ms', 'p10_ms', 'p90_ms', 'method'],
  properties: { median_ms: num, p10_ms: num, p90_ms: num, method: { type: 'string' } },
} as const;

export const RESULT_RECORD_SCHEMA = {
  type: 'object',
  required: ['backend', 'kernel', 'role', 'params', 'problem', 'state', 'flops', 'bytes', 'device'],
  properties: {
    backend,
    kernel: { type: 'string', minLength: 1 },
    role: { enum: ['neocell', 'baseline', 'ceiling', 'peer'] },
    params: { type: 'object', additionalProperties: paramValue },
    problem: PROBLEM_SCHEMA,
    state: { enum: ['verified', 'mismatch', 'failed', 'rejected'] },
    // Version 1 only (dropped on reading): the state says whether the kernel was verified.
    verified: { type: 'boolean' },
    error: { type: 'string' },
    max_rel_err: num,
    median_ms: { type: 'number', exclusiveMinimum: 0 },
    p10_ms: num,
    p90_ms: num,
    samples_ms: times,
    set_aside_ms: times,
    quality: QUALITY_SCHEMA,
    flags: { type: 'array', items: { type: 'string' } },
    rounds_ms: times,
    timing_method: { type: 'string' },
    without_readback: timingSummary,
    flops: {
      type: 'object',
      required: ['useful', 'executed', 'dwconv7_equivalent'],
      properties: { useful: num, executed: { type: ['number', 'null'] }, dwconv7_equivalent: num },
    },
    bytes: num,
    source_hash: { type: 'string' },
    device: { type: 'string' },
    software: { type: 'boolean' },
    proxies: { type: 'object', required: ['executed_macs', 'code_lines', 'code_memory_ops'], properties: { executed_macs: { type: ['number', 'null'] }, code_lines: count, code_memory_ops: count } },
    operations: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } },
    case: { type: 'string' },
    occurrences: { type: 'integer', minimum: 1 },
  },
} as const;

export const CEILING_SCHEMA = {
  type: 'object',
  required: ['backend', 'name', 'params', 'gflops', 'method'],
  properties: {
    backend,
    name: { type: 'string' },
    params: { type: 'object', additionalProperties: paramValue },
    gflops: num,
    method: { type: 'string' },
    quality: QUALITY_SCHEMA,
    measurements: { type: 'array', items: num },
    flags: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const RESULT_FILE_SCHEMA = {
  type: 'object',
  required: ['schema', 'version', 'created', 'command', 'environment', 'records'],
  properties: {
    schema: { const: 'neotune-results' },
    version: { enum: [1, 2] },
    created: { type: 'string' },
    command: { type: 'string' },
    environment: { type: 'object', required: ['cpu', 'cores', 'node'], properties: { cpu: { type: 'string' }, cores: count, node: { type: 'string' } } },
    records: { type: 'array', items: RESULT_RECORD_SCHEMA },
    ceilings: { type: 'array', items: CEILING_SCHEMA },
    interrupted: { type: 'boolean' },
    suite: {
      type: 'object',
      required: ['name', 'description'],
      properties: {
        name: { type: 'string' },
        description: { type: 'string' },
        network: { type: 'object', required: ['model', 'resolution'], properties: { model: { enum: [...MODEL_NAMES] }, resolution: { type: 'integer', minimum: 1 } } },
      },
    },
    tuning: { type: 'object', required: ['strategy', 'effort', 'budget', 'database'], properties: { strategy: { type: 'string' }, effort: { type: 'string' }, budget: { type: 'string' }, database: { type: 'string' } } },
  },
} as const;

export const HISTORY_LINE_SCHEMA = {
  type: 'object',
  required: ['created', 'label', 'medians'],
  additionalProperties: false,
  properties: {
    created: { type: 'string' },
    label: { type: 'string' },
    medians: { type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0 } },
    intervals: { type: 'object', additionalProperties: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number', exclusiveMinimum: 0 } } },
    operations: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } } },
  },
} as const;

/** Record key → σ of the log median between runs. */
export const NOISE_SCHEMA = { type: 'object', minProperties: 1, additionalProperties: { type: 'number', minimum: 0, maximum: 10 } } as const;
