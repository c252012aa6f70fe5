/**
 * User-defined suites from a JSON or YAML file, validated against a JSON Schema (Ajv) before any
 * problem is built: a bad file gets an error naming the field (e.g. `cases[1].C`) and what is
 * allowed. Semantic errors (a shift ≥ block size, a block larger than the image) name the case.
 *
 *   name: my-suite
 *   batch: 1            # optional, overridden by --batch when given
 *   dwK: 7              # optional depthwise baseline kernel size
 *   cases:
 *     - { name: stage1, C: 96, H: 56, W: 56, spec: "4+7", shift: 1, occurrences: 3 }
 *     - { name: rect, C: 32, H: 28, W: 28, spec: [{ h_in: 2, h_out: 1, w_in: 2, w_out: 1 }] }
 */
import { parse as parseYaml } from 'yaml';
import { InputError } from '../core/errors.js';
import { MAX_NESTING, nestingDepth, parseJsonInput, readTextFile } from '../core/files.js';
import { validateShape } from '../core/validate.js';
import { neoCellProblem } from '../harness/problem.js';
import { benchCase, type Suite, type SuiteOptions } from './builtin.js';

const positive = { type: 'integer', minimum: 1 } as const;
const channelSpec = {
  type: 'object',
  additionalProperties: false,
  properties: {
    channels: positive,
    kernel: positive,
    kernel_a: positive,
    kernel_b: positive,
    h_in: positive,
    h_out: positive,
    w_in: positive,
    w_out: positive,
    shift: { type: 'integer', minimum: 0 },
    shift_a: { type: 'integer', minimum: 0 },
    shift_b: { type: 'integer', minimum: 0 },
  },
} as const;

/** The JSON Schema suite files (.json, .yaml) are validated against. */
export const SUITE_SCHEMA = {
  $id: 'https://neotune/suite.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'cases'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    batch: positive,
    dwK: { type: 'integer', minimum: 1, maximum: 63 },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'C', 'H', 'W', 'spec'],
        properties: {
          name: { type: 'string', minLength: 1 },
          N: positive,
          C: positive,
          H: positive,
          W: positive,
          spec: { oneOf: [{ type: 'string', minLength: 1 }, channelSpec, { type: 'array', minItems: 1, items: channelSpec }] },
          shift: { type: 'integer', minimum: 0 },
          shift_a: { type: 'integer', minimum: 0 },
          shift_b: { type: 'integer', minimum: 0 },
          occurrences: positive,
        },
      },
    },
  },
} as const;

interface SuiteFile {
  name: string;
  description?: string;
  batch?: number;
  dwK?: number;
  cases: { name: string; N?: number; C: number; H: number; W: number; spec: string | object; shift?: number; shift_a?: number; shift_b?: number; occurrences?: number }[];
}

export function isSuiteFile(name: string): boolean {
  return /\.(json|ya?ml)$/i.test(name);
}

/** Reads and validates a suite file (.json or .yaml); errors name the file and the field. */
export function loadSuiteFile(path: string, opts: SuiteOptions = {}): Suite {
  const json = /\.json$/i.test(path);
  const text = readTextFile('suite', path, { what: 'a readable suite file (JSON or YAML)', maxBytes: 16 * 2 ** 20 });
  let parsed: unknown;
  if (json) parsed = parseJsonInput('suite', path, text, 'a suite file in JSON');
  else {
    // Flow-style YAML can nest like JSON; block style nests by indentation (bounded by the line length).
    if (nestingDepth(text) > MAX_NESTING) throw new InputError('suite', path, 'a suite file in YAML', `nested more than ${MAX_NESTING} levels deep`);
    try {
      parsed = parseYaml(text);
    } catch (e) {
      throw new InputError('suite', path, `valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const data = validateShape<SuiteFile>(SUITE_SCHEMA, parsed, path, { oneOf: 'a spec string ("4+7"), a channel spec object or a list of them' });
  const N = opts.batch ?? data.batch ?? 1;
  const dwK = opts.dwK ?? data.dwK;
  const cases = data.cases.map((c, i) => {
    try {
      const p = neoCellProblem({ N: c.N ?? N, C: c.C, H: c.H, W: c.W, spec: c.spec as never, shift: c.shift, shift_a: c.shift_a, shift_b: c.shift_b } as never);
      return benchCase(c.name, c.occurrences ?? 1, p, dwK);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${path}: cases[${i}] (${c.name}).${e.field}`, e.value, e.allowed);
      throw e;
    }
  });
  return { name: data.name, description: data.description ?? `${data.name} (from ${path})`, cases };
}
