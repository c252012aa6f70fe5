/**
 * Which kernel runs a problem: the dispatch table a tuning database exports (`neotune export`),
 * looked up by the problem's canonical form, so "7", `[{ kernel: 7, channels: C }]` and the stored
 * "128c:k7" are the same problem. A problem the table lacks gets the cost model's
 * fastest-predicted configuration of this target when the table carries the model (`neotune
 * export` puts it there), else the nearest tuned problem's choice where it is valid for it, else
 * the backend's defaults: `tuned: false` with the reason, never an error.
 */
import { InputError } from '../core/errors.js';
import { formatCell } from '../core/spec.js';
import type { Config } from '../harness/params.js';
import { problemRecord } from '../harness/problem.js';
import type { NeoCellProblem, Params } from '../harness/types.js';
import { checkPortableModel, fastestPredicted, type PortableModel, predictedTimes, predictPortable } from '../model/portable.js';

/** A configuration of a table row, with its tuned median. */
export interface TableChoice {
  readonly variant: string;
  readonly params: Params;
  readonly median_ms: number;
}

/** One tuned problem of a dispatch table: its canonical key, the winning variant and parameters, its median time. */
export interface TableRow {
  readonly op: string;
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  /** Canonical cell text, e.g. "48c:k4s1+48c:k7s1". */
  readonly spec: string;
  readonly dtype: string;
  readonly variant: string;
  readonly params: Params;
  readonly median_ms: number;
  /** When the winner uses several threads: the best candidate of each smaller thread count, most first. */
  readonly fewer_threads?: readonly TableChoice[];
}

/** The tuned choices of one device, as `neotune export` writes them. */
export interface DispatchTable {
  readonly device: string;
  readonly backend: string;
  readonly rows: readonly TableRow[];
  /** The cost model, for the problems the rows lack (model/portable.ts). */
  readonly model?: PortableModel;
}

/** The kernel a NeoCell runs: variant and parameters, whether they were tuned for this very problem, and why they were chosen. */
export interface KernelChoice {
  readonly variant: string;
  readonly params: Params;
  /** True only when this very problem was tuned on the table's device. */
  readonly tuned: boolean;
  /** Where the choice comes from, in words. */
  readonly reason: string;
  /** The tuned median of the row the choice comes from, ms. */
  readonly median_ms?: number;
  /** A choice the cost model predicted: its expected time on the table's device, a one-sd range, and how many configurations it ranked. */
  readonly predicted?: { readonly expected_ms: number; readonly range_ms: readonly [number, number]; readonly candidates: number };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Params: an object of numbers, strings and booleans. */
function checkParams(field: string, v: unknown): void {
  if (!isObject(v)) throw new InputError(field, v, 'an object of parameter values (numbers, strings, booleans)');
  for (const [k, x] of Object.entries(v)) {
    if (!(typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)))) throw new InputError(`${field}.${k}`, x, 'a finite number, a string or a boolean');
  }
}

function checkChoice(field: string, c: unknown): void {
  if (!isObject(c)) throw new InputError(field, c, 'an object { variant, params, median_ms }');
  if (typeof c.variant !== 'string' || c.variant === '') throw new InputError(`${field}.variant`, c.variant, 'a kernel variant name (a non-empty string)');
  checkParams(`${field}.params`, c.params);
  if (typeof c.median_ms !== 'number' || !Number.isFinite(c.median_ms) || c.median_ms <= 0) throw new InputError(`${field}.median_ms`, c.median_ms, 'a positive finite number of milliseconds');
}

/**
 * Checks a dispatch table as `neotune export` writes it, field by field (a hand-edited or damaged
 * table is an InputError naming the field, e.g. `table.rows[3].N`, never a TypeError later).
 * Hand-written, not Ajv: the runtime bundle ships to web pages, and this is the only shape it reads.
 */
export function checkDispatchTable(table: unknown, field = 'table'): asserts table is DispatchTable {
  if (!isObject(table)) throw new InputError(field, table, 'a dispatch table { device, backend, rows } (neotune export)');
  for (const k of ['device', 'backend'] as const) if (typeof table[k] !== 'string') throw new InputError(`${field}.${k}`, table[k], 'a string');
  if (!Array.isArray(table.rows)) throw new InputError(`${field}.rows`, table.rows, 'an array of tuned problems');
  table.rows.forEach((r: unknown, i: number) => {
    const at = `${field}.rows[${i}]`;
    if (!isObject(r)) throw new InputError(at, r, 'an object { op, N, C, H, W, spec, dtype, variant, params, median_ms }');
    for (const k of ['op', 'spec', 'dtype'] as const) if (typeof r[k] !== 'string') throw new InputError(`${at}.${k}`, r[k], 'a string');
    for (const k of ['N', 'C', 'H', 'W'] as const) if (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) < 1) throw new InputError(`${at}.${k}`, r[k], 'a positive integer');
    checkChoice(at, r);
    if (r.fewer_threads !== undefined) {
      if (!Array.isArray(r.fewer_threads)) throw new InputError(`${at}.fewer_threads`, r.fewer_threads, 'an array of { variant, params, median_ms }');
      r.fewer_threads.forEach((c: unknown, j: number) => checkChoice(`${at}.fewer_threads[${j}]`, c));
    }
  });
  if (table.model !== undefined) checkPortableModel(table.model, `${field}.model`);
}

/** A problem as the tables key it: shape and canonical cell text. */
export interface ShapeKey {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly spec: string;
}

/** log-scale distance over N, C, H, W; a different cell (canonical spec text) adds 1. Tuner and runtime pick the nearest problem by it. */
export function problemDistance(a: ShapeKey, b: ShapeKey): number {
  const l = (x: number, y: number) => Math.abs(Math.log2(x) - Math.log2(y));
  return l(a.N, b.N) + l(a.C, b.C) + l(a.H, b.H) + l(a.W, b.W) + (a.spec === b.spec ? 0 : 1);
}

/**
 * The choice for `p` among the variants `usable` accepts (`whyNot` returns why a variant with
 * these parameters cannot run it here, or undefined): the row of this very problem; else, when the
 * table has a cost model, its fastest-predicted configuration among `candidates()` (every
 * configuration this target can run `p` with); else the nearest row; `defaults` when no row is usable.
 */
export function chooseKernel(
  table: DispatchTable | undefined,
  p: NeoCellProblem,
  whyNot: (variant: string, params: Params) => string | undefined,
  defaults: () => { variant: string; params: Params },
  candidates: () => readonly Config[] = () => [],
): KernelChoice {
  const key: ShapeKey = { N: p.N, C: p.C, H: p.H, W: p.W, spec: formatCell(p.cell) };
  const rows = (table?.rows ?? [])
    .filter((r) => r.op === 'neocell' && r.dtype === p.dtype)
    .map((r) => ({ r, d: problemDistance(r, key) }))
    .sort((a, b) => a.d - b.d || (a.r.variant < b.r.variant ? -1 : a.r.variant > b.r.variant ? 1 : 0));
  const skipped: string[] = [];
  /** A row's choice where it runs here (a tuned row with too many threads: its best candidate with fewer), else undefined with the reason kept. */
  const fromRow = ({ r, d }: (typeof rows)[number]): KernelChoice | undefined => {
    const why = whyNot(r.variant, r.params);
    if (why) {
      // The same problem tuned with more threads than this target has: its best candidate with fewer.
      const fewer = d === 0 ? r.fewer_threads?.find((c) => !whyNot(c.variant, c.params)) : undefined;
      if (fewer) return { variant: fewer.variant, params: fewer.params, tuned: true, reason: `tuned for this problem on ${table!.device}: the best candidate with ${fewer.params.threads ?? 1} thread(s) (the winner ${r.variant} cannot run here: ${why})`, median_ms: fewer.median_ms };
      if (d === 0) skipped.push(`the tuned ${r.variant} cannot run here: ${why}`);
      return undefined;
    }
    const rowKey = `${r.N}x${r.C}x${r.H}x${r.W} ${r.spec}`;
    return d === 0
      ? { variant: r.variant, params: r.params, tuned: true, reason: `tuned for this problem on ${table!.device}`, median_ms: r.median_ms }
      : { variant: r.variant, params: r.params, tuned: false, reason: `not tuned: the choice of the nearest tuned problem, ${rowKey} (distance ${d.toFixed(2)})${skipped.length ? `; ${skipped.join('; ')}` : ''}`, median_ms: r.median_ms };
  };
  for (const row of rows.filter(({ d }) => d === 0)) {
    const choice = fromRow(row);
    if (choice) return choice;
  }
  const predicted = table?.model ? predictedChoice(table.model, table.device, p, candidates(), skipped) : undefined;
  if (predicted) return predicted;
  for (const row of rows.filter(({ d }) => d > 0)) {
    const choice = fromRow(row);
    if (choice) return choice;
  }
  const dflt = defaults();
  const why = !table ? 'no dispatch table given' : rows.length === 0 ? `the table (${table.device}) has no ${p.dtype} NeoCell problem` : 'no tuned choice of the table can run this problem here';
  return { ...dflt, tuned: false, reason: `not tuned: ${why}${skipped.length ? ` (${skipped.join('; ')})` : ''}; the backend's defaults` };
}

/** The cost model's fastest-predicted configuration among `configs` (undefined when there are none). */
function predictedChoice(model: PortableModel, device: string, p: NeoCellProblem, configs: readonly Config[], skipped: readonly string[]): KernelChoice | undefined {
  if (configs.length === 0) return undefined;
  const predictions = predictPortable(model, problemRecord(p), configs);
  const best = fastestPredicted(predictions);
  const predicted = predictedTimes(predictions[best]!, configs.length);
  const [lo, hi] = predicted.range_ms;
  const { rows, problems, devices } = model.basis;
  return {
    variant: configs[best]!.variant,
    params: configs[best]!.params,
    tuned: false,
    reason: `not tuned: predicted by the cost model (${rows} measurements of ${problems} problems on ${devices} device(s)), the fastest of ${configs.length} configurations of this target on ${device}: expected ${predicted.expected_ms.toPrecision(3)} ms (${lo.toPrecision(3)}–${hi.toPrecision(3)})${skipped.length ? `; ${skipped.join('; ')}` : ''}`,
    predicted,
  };
}
