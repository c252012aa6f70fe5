/**
 * Validation of input files against JSON Schemas (Ajv): valid JSON of the wrong shape is reported
 * with the file, the field (e.g. `entries["…"].candidates["…"].samples_ms[3]`) and what is allowed,
 * as an InputError (exit 2), before anything is used or replaced.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InputError } from './errors.js';
import { readTextFile, parseJsonInput } from './files.js';

// verbose: errors carry their schema, so an unknown field's message can list the allowed ones.
const ajv = new Ajv({ allErrors: false, verbose: true, allowUnionTypes: true });
const compiled = new WeakMap<object, ValidateFunction>();

/** `/cases/1/C` → `cases[1].C`; keys that are not identifiers are quoted. */
export function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_][\w]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`));
  const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : '';
  return [parts.join('').replace(/^\./, ''), extra].filter(Boolean).join('.') || '(file)';
}

function allowedOf(e: ErrorObject, hints: Readonly<Record<string, string>>): string {
  if (e.keyword === 'additionalProperties') return `no such field; allowed: ${Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}).join(', ')}`;
  if (e.keyword === 'required') return 'this field is required';
  if (e.keyword === 'enum') return `one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'const') return JSON.stringify((e.params as { allowedValue: unknown }).allowedValue);
  return hints[e.keyword] ?? e.message ?? e.keyword;
}

/**
 * Checks `data` (read from `path`) against `schema`; a mismatch throws an InputError whose field
 * is `${path}: <field>`. `hints` replace Ajv's message for a keyword (e.g. oneOf).
 */
export function validateShape<T>(schema: object, data: unknown, path: string, hints: Readonly<Record<string, string>> = {}): T {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  if (validate(data)) return data as T;
  const e = validate.errors![0]!;
  const at = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], data);
  const value = e.keyword === 'additionalProperties' ? (at as Record<string, unknown>)[(e.params as { additionalProperty: string }).additionalProperty] : at;
  throw new InputError(`${path}: ${fieldOf(e)}`, e.keyword === 'required' ? undefined : abbreviate(value), allowedOf(e, hints));
}

/** Long values (a whole entry) are cut for the message. */
function abbreviate(v: unknown): unknown {
  const s = JSON.stringify(v);
  return s !== undefined && s.length > 120 ? `${s.slice(0, 117)}...` : v;
}

/**
 * Reads, parses and validates a JSON file named by option `field`. A file of another kind (its
 * `schema` field is not the one `schema` requires: a tuning database given as a recorded space)
 * is named as such, before any field of it is; every message names the option.
 */
export function readJsonFile<T>(field: string, path: string, schema: object, what: string): T {
  const text = readTextFile(field, path, { what });
  const data = parseJsonInput(field, path, text, what);
  const kind = (schema as { properties?: { schema?: { const?: unknown } } }).properties?.schema?.const;
  if (kind !== undefined) {
    const got = data && typeof data === 'object' && !Array.isArray(data) ? (data as { schema?: unknown }).schema : undefined;
    if (got !== kind) throw new InputError(field, path, what, got === undefined ? `not ${what}: it has no "schema" field (${JSON.stringify(kind)} expected)` : `not ${what}: its "schema" is ${JSON.stringify(got)}, not ${JSON.stringify(kind)}`);
  }
  try {
    return validateShape<T>(schema, data, path);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${field}: ${e.field}`, e.value, e.allowed, e.detail);
    throw e;
  }
}
