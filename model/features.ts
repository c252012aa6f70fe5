/**
 * What the cost model knows about a measurement: features of the problem (shape, blocks, groups,
 * shifts, down-sampling, useful FLOPs, bytes, working set), of the configuration (variant and
 * parameters) and of the device (backend, threads it has, measured ceilings when known). Every
 * feature is a number; categorical values become indicator columns, named `name=value`, so a
 * trained model carries its own column list and a value it never saw is simply all zeros.
 */
import { problemCosts, problemFromRecord, type ProblemRecord } from '../harness/problem.js';
import type { ParamValue } from '../harness/types.js';
import type { Config } from '../harness/params.js';

/** The device as the model sees it. Ceilings are optional: a database entry does not keep them. */
export interface DeviceFeatures {
  readonly backend: string;
  /** Threads the device offers (the CPU's usable cores; 1 for a GPU). */
  readonly threads: number;
  /** Measured copy bandwidth, GB/s (a ceiling of the run), when known. */
  readonly copy_gbps?: number;
  /** Measured compute peak, GFLOP/s, when known. */
  readonly peak_gflops?: number;
}

/** Named feature values of one (problem, configuration, device) triple, before column encoding. */
export type FeatureValues = ReadonlyMap<string, number | string>;

const log2 = Math.log2;

/** Features of a problem: every one a number (shape, blocks, groups, shifts, down-sampling, costs). */
export function problemFeatures(record: ProblemRecord): Map<string, number> {
  const p = problemFromRecord(record);
  const f = new Map<string, number>([
    ['p.logN', log2(p.N)],
    ['p.logC', log2(p.C)],
    ['p.logH', log2(p.H)],
    ['p.logW', log2(p.W)],
    ['p.logHW', log2(p.H * p.W)],
  ]);
  const costs = problemCosts(p);
  f.set('p.logFlops', log2(Math.max(1, costs.useful_flops)));
  f.set('p.logBytes', log2(costs.bytes));
  // One channel's input plane, in bytes: what a kernel keeps hot while it works on it.
  f.set('p.logPlaneBytes', log2(p.H * p.W * (p.dtype === 'float16' ? 2 : 4)));
  if (p.op === 'neocell') {
    const g = p.cell.groups;
    const weighted = (v: (x: (typeof g)[number]) => number) => g.reduce((s, x) => s + x.channels * v(x), 0) / p.C;
    f.set('p.groups', g.length);
    f.set('p.blockA', weighted((x) => x.a.in));
    f.set('p.blockB', weighted((x) => x.b.in));
    f.set('p.blockMax', Math.max(...g.map((x) => Math.max(x.a.in, x.b.in))));
    f.set('p.blockMin', Math.min(...g.map((x) => Math.min(x.a.in, x.b.in))));
    f.set('p.shifted', weighted((x) => (x.a.shift > 0 || x.b.shift > 0 ? 1 : 0)));
    f.set('p.down', weighted((x) => x.a.in / x.a.out));
    // Does the block size divide the plane? Edge blocks cost extra code paths in every variant.
    f.set('p.ragged', weighted((x) => (p.H % x.a.in !== 0 || p.W % x.b.in !== 0 ? 1 : 0)));
  }
  return f;
}

/** ln of the problem's useful MFLOPs and of its bytes in MB: what its typical time scales with (the model's level line). */
export function problemScale(record: ProblemRecord): [number, number] {
  const c = problemCosts(problemFromRecord(record));
  return [Math.log(Math.max(c.useful_flops, 1) / 1e6), Math.log(c.bytes / 1e6)];
}

/** Features of a configuration: the variant, each parameter under its variant's name, and the parameters every variant shares. */
export function configFeatures(c: Config): Map<string, number | string> {
  const f = new Map<string, number | string>([['c.variant', c.variant]]);
  f.set('c.threads', Number(c.params.threads ?? 1));
  for (const [k, v] of Object.entries(c.params)) {
    if (k === 'threads') continue;
    f.set(`c.${c.variant}.${k}`, encodeParam(v));
    // The same parameter across variants (madd, order…) usually means the same thing.
    f.set(`c.${k}`, encodeParam(v));
  }
  return f;
}

function encodeParam(v: ParamValue): number | string {
  return typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : v;
}

/** Features of a device: backend, threads, ceilings when known. */
export function deviceFeatures(d: DeviceFeatures): Map<string, number | string> {
  const f = new Map<string, number | string>([
    ['d.backend', d.backend],
    ['d.logThreads', log2(Math.max(1, d.threads))],
  ]);
  if (d.copy_gbps !== undefined) f.set('d.logCopy', log2(d.copy_gbps));
  if (d.peak_gflops !== undefined) f.set('d.logPeak', log2(d.peak_gflops));
  return f;
}

/**
 * The three sets of features together, and how the configuration fits the problem and the device:
 * threads against the device's and against the work there is to share, register tiles and row
 * steps against the plane (the lanes and rows a tile computes for nothing at the edge). With a
 * dozen problems to learn from, a forest cannot find these interactions itself.
 */
export function featureValues(problem: ReadonlyMap<string, number>, config: Config, device: DeviceFeatures): Map<string, number | string> {
  const f = new Map<string, number | string>([...problem, ...configFeatures(config), ...deviceFeatures(device)]);
  const threads = Number(config.params.threads ?? 1);
  f.set('x.oversubscribed', threads > device.threads ? 1 : 0);
  f.set('x.logFlopsPerThread', (problem.get('p.logFlops') ?? 0) - log2(threads));
  const H = 2 ** (problem.get('p.logH') ?? 0);
  const W = 2 ** (problem.get('p.logW') ?? 0);
  const waste = (n: number, step: number) => (Math.ceil(n / step) * step - n) / n;
  const { rows, mr, nv } = config.params;
  if (typeof rows === 'number') f.set('x.rowWaste', waste(H, rows));
  if (typeof mr === 'number') f.set('x.tileRowWaste', waste(H, mr));
  if (typeof nv === 'number') f.set('x.tileColWaste', waste(W, 4 * nv));
  return f;
}

/** Missing numeric features (a ceiling not measured, a parameter of another variant) read as this. */
export const MISSING = -1;

/**
 * The column layout of a model: numeric features by name, categorical ones as one indicator
 * column per value seen in training. Built from the training rows, stored with the model.
 */
export interface ColumnLayout {
  readonly columns: readonly string[];
}

export function columnLayout(rows: readonly FeatureValues[]): ColumnLayout {
  const names = new Set<string>();
  for (const r of rows) for (const [k, v] of r) names.add(typeof v === 'string' ? `${k}=${v}` : k);
  return { columns: [...names].sort() };
}

/** One row as numbers in the layout's column order (unknown categorical values: all indicators 0). */
export function encodeRow(layout: ColumnLayout, values: FeatureValues, index = columnIndex(layout)): Float64Array {
  const row = new Float64Array(layout.columns.length);
  for (const i of index.numeric.values()) row[i] = MISSING;
  for (const [k, v] of values) {
    if (typeof v === 'string') {
      const i = index.all.get(`${k}=${v}`);
      if (i !== undefined) row[i] = 1;
    } else {
      const i = index.all.get(k);
      if (i !== undefined) row[i] = v;
    }
  }
  return row;
}

export interface ColumnIndex {
  readonly all: ReadonlyMap<string, number>;
  /** Numeric columns (no `=`): MISSING when a row does not have them. */
  readonly numeric: ReadonlyMap<string, number>;
}

export function columnIndex(layout: ColumnLayout): ColumnIndex {
  const all = new Map(layout.columns.map((c, i) => [c, i]));
  return { all, numeric: new Map([...all].filter(([c]) => !c.includes('='))) };
}
