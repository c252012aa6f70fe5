/**
 * JSON Schemas of the tuning database (snapshot, versions 1 and 2) and of its journal lines.
 * Every file is checked against them on load: valid JSON of the wrong shape (an `entries` list,
 * a null entry, samples that are strings, a missing field) is reported with the field, never
 * used and never silently dropped.
 */
import { PROBLEM_SCHEMA, QUALITY_SCHEMA } from '../harness/results-schema.js';

const num = { type: 'number' } as const;
const positive = { type: 'number', exclusiveMinimum: 0 } as const;
const count = { type: 'integer', minimum: 0 } as const;
const paramValue = { type: ['number', 'string', 'boolean'] } as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  required: ['variant', 'params'],
  additionalProperties: false,
  properties: { variant: { type: 'string', minLength: 1 }, params: { type: 'object', additionalProperties: paramValue } },
} as const;

const candidate = (maxSamples: number | undefined) =>
  ({
    type: 'object',
    required: ['key', 'config', 'source_hash', 'state'],
    additionalProperties: false,
    properties: {
      key: { type: 'string', minLength: 1 },
      config: CONFIG_SCHEMA,
      source_hash: { type: ['string', 'null'] },
      state: { enum: ['verified', 'mismatch', 'failed', 'rejected'] },
      median_ms: positive,
      samples_ms: { type: 'array', items: positive, ...(maxSamples ? { maxItems: maxSamples } : {}) },
      timing_method: { type: 'string' },
      quality: QUALITY_SCHEMA,
      max_rel_err: num,
      error: { type: 'string' },
      executed_flops: { type: ['number', 'null'] },
    },
    // A verified candidate has a timing; selection depends on it.
    if: { properties: { state: { const: 'verified' } } },
    then: { required: ['median_ms', 'samples_ms'] },
  }) as const;

const keyList = { type: 'array', items: { type: 'string' } } as const;
const ratioCi = { type: 'array', items: num, minItems: 2, maxItems: 2 } as const;

export const WINNER_SCHEMA = {
  type: 'object',
  required: ['key', 'config', 'median_ms', 'confidence'],
  additionalProperties: false,
  properties: {
    key: { type: 'string', minLength: 1 },
    config: CONFIG_SCHEMA,
    median_ms: positive,
    source_hash: { type: 'string' },
    confidence: {
      type: 'object',
      required: ['fastest', 'tied', 'p_value', 'ratio_ci', 'p_vs_next'],
      properties: {
        fastest: { type: 'string' },
        tied: keyList,
        p_value: num,
        ratio_ci: ratioCi,
        p_vs_next: { type: ['number', 'null'] },
        unstable: { type: 'boolean' },
        revalidated: {
          type: 'object',
          required: ['candidates', 'rounds', 'changed'],
          properties: { candidates: keyList, rounds: count, changed: { type: 'boolean' }, paired_ratio_ci: { type: 'object', additionalProperties: ratioCi }, median_from: { enum: ['search', 'processes'] }, processes: count, process_ratio_ci: { type: 'object', additionalProperties: ratioCi }, process_medians_ms: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 } }, slow_phase_processes: count, unstable: { type: 'object', additionalProperties: { type: 'string' } }, time_limited: { type: 'string' } },
        },
      },
    },
  },
} as const;

export const SEARCH_SCHEMA = {
  type: 'object',
  required: ['strategy', 'seed', 'evaluations', 'space', 'pruned'],
  additionalProperties: false,
  properties: { strategy: { type: 'string' }, seed: { type: 'integer' }, evaluations: count, space: count, pruned: count },
} as const;

const entry = (maxSamples: number | undefined) =>
  ({
    type: 'object',
    required: ['device', 'backend', 'problem', 'candidates'],
    additionalProperties: false,
    properties: {
      device: { type: 'string', minLength: 1 },
      backend: { enum: ['cpu', 'webgpu', 'webgpu-browser', 'gpujs', 'gpujs-browser'] },
      problem: PROBLEM_SCHEMA,
      candidates: { type: 'object', additionalProperties: candidate(maxSamples) },
      winner: WINNER_SCHEMA,
      search: SEARCH_SCHEMA,
      measured_in: { enum: ['visitor-browser'] },
    },
  }) as const;

/** The snapshot of a given version (1: every sample kept; 2: at most `maxSamples` per candidate). */
export function snapshotSchema(version: number, maxSamples?: number): object {
  return {
    type: 'object',
    required: ['schema', 'version', 'entries'],
    additionalProperties: false,
    properties: {
      schema: { const: 'neotune-tuning-db' },
      version: { const: version },
      sha256: { type: 'string', pattern: '^[0-9a-f]{16}$' },
      entries: { type: 'object', additionalProperties: entry(maxSamples) },
    },
  };
}

/** Journal lines: a measured candidate, or an entry's winner and search record (chosen by `op`). */
export function journalLineSchemas(maxSamples: number): { candidate: object; winner: object } {
  const header = {
    entry: { type: 'string', minLength: 1 },
    device: { type: 'string', minLength: 1 },
    backend: entry(maxSamples).properties.backend,
    problem: PROBLEM_SCHEMA,
  };
  return {
    candidate: {
      type: 'object',
      required: ['op', 'entry', 'device', 'backend', 'problem', 'candidate'],
      additionalProperties: false,
      properties: { op: { const: 'candidate' }, ...header, candidate: candidate(maxSamples), sum: { type: 'string' } },
    },
    winner: {
      type: 'object',
      required: ['op', 'entry', 'device', 'backend', 'problem', 'winner', 'search'],
      additionalProperties: false,
      properties: { op: { const: 'winner' }, ...header, winner: { anyOf: [{ type: 'null' }, WINNER_SCHEMA] }, search: SEARCH_SCHEMA, sum: { type: 'string' } },
    },
  };
}
