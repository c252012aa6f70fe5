/**
 * The cost model as data, for the runtime: `neotune export` puts it in a dispatch table, and a
 * problem the table lacks then gets the model's fastest-predicted configuration of the target
 * (runtime/choice.ts) instead of the nearest tuned problem's winner. Prediction only (the trees,
 * the level line, the column layout); training stays with the tuner (model/cost-model.ts). No
 * Node built-in and no library: the runtime bundle carries this file.
 *
 * Trees are stored in pre-order with a split's left child next to it, so a node needs three
 * numbers: its column (−1 for a leaf), its threshold (a leaf's value), its right child.
 */
import { InputError } from '../core/errors.js';
import type { Config } from '../harness/params.js';
import type { ProblemRecord } from '../harness/problem.js';
import { columnIndex, type DeviceFeatures, encodeRow, featureValues, problemFeatures, problemScale } from './features.js';
import { predictTrees, type Tree } from './forest.js';

export interface PortableTree {
  /** Column a node splits on; −1: a leaf. */
  readonly c: readonly number[];
  /** A split's threshold (≤ goes to node i + 1), a leaf's value (ln time relative to the problem's median configuration). */
  readonly t: readonly number[];
  /** A split's right child (0 for a leaf). */
  readonly r: readonly number[];
}

export interface PortableModel {
  readonly format: 'neotune-cost-model';
  readonly version: 1;
  /** What it learned from: measurements, problems, devices. */
  readonly basis: { readonly rows: number; readonly problems: number; readonly devices: number };
  /** The device its predictions are for (the table's). */
  readonly device: DeviceFeatures;
  readonly columns: readonly string[];
  /** ln ms of a problem's median configuration = level[0] + level[1]·ln MFLOPs + level[2]·ln MB. */
  readonly level: readonly [number, number, number];
  readonly trees: readonly PortableTree[];
}

/** Index of the configuration predicted fastest (the lowest mean; the first of equals): the model's zero-evaluation choice. */
export function fastestPredicted(predictions: readonly { readonly mean: number }[]): number {
  return predictions.reduce((best, p, i) => (p.mean < predictions[best]!.mean ? i : best), 0);
}

/** A prediction (ln ms) as times: its expected ms and one-sd range, with how many configurations were ranked. */
export function predictedTimes(p: { readonly mean: number; readonly sd: number }, candidates: number): { expected_ms: number; range_ms: [number, number]; candidates: number } {
  return { expected_ms: Math.exp(p.mean), range_ms: [Math.exp(p.mean - p.sd), Math.exp(p.mean + p.sd)], candidates };
}

/**
 * Significant digits kept: a leaf value to 6 (far finer than the model's error); a threshold to 10,
 * since a threshold lies midway between two training values of a feature and a problem's own value
 * may be one of them (ln FLOPs of two shapes can differ in the 5th digit).
 */
const round = (x: number, digits: number) => Number(x.toPrecision(digits));

export function portableTrees(trees: readonly Tree[]): PortableTree[] {
  return trees.map((tree) => ({
    c: Array.from(tree.column),
    t: Array.from(tree.column, (c, i) => (c < 0 ? round(tree.value[i]!, 6) : round(tree.threshold[i]!, 10))),
    r: Array.from(tree.column, (c, i) => (c < 0 ? 0 : tree.right[i]!)),
  }));
}

/** Predicted ln ms (mean) and its spread (sd) of each configuration of `problem` on the model's device. */
export function predictPortable(model: PortableModel, problem: ProblemRecord, configs: readonly Config[]): { mean: number; sd: number }[] {
  const trees = model.trees.map((t) => ({
    column: t.c,
    threshold: t.t,
    value: t.t,
    left: t.c.map((_, i) => i + 1),
    right: t.r,
  }));
  const layout = { columns: model.columns };
  const index = columnIndex(layout);
  const features = problemFeatures(problem);
  const [f, b] = problemScale(problem);
  const level = model.level[0] + model.level[1] * f + model.level[2] * b;
  return configs.map((c) => {
    const p = predictTrees(trees, encodeRow(layout, featureValues(features, c, model.device), index));
    return { mean: level + p.mean, sd: p.sd };
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks a portable model field by field (a damaged table is an InputError naming the field, never
 * a wrong prediction or a TypeError later): every tree's arrays of one length, columns within the
 * layout, children after their parent and within the tree.
 */
export function checkPortableModel(m: unknown, field: string): asserts m is PortableModel {
  if (!isObject(m)) throw new InputError(field, m, 'a cost model { format, version, basis, device, columns, level, trees } (neotune export)');
  if (m.format !== 'neotune-cost-model') throw new InputError(`${field}.format`, m.format, '"neotune-cost-model"');
  if (m.version !== 1) throw new InputError(`${field}.version`, m.version, '1');
  if (!isObject(m.basis) || !['rows', 'problems', 'devices'].every((k) => Number.isInteger((m.basis as Record<string, unknown>)[k]) && ((m.basis as Record<string, number>)[k] ?? 0) >= 0)) throw new InputError(`${field}.basis`, m.basis, '{ rows, problems, devices }: counts');
  const d = m.device;
  if (!isObject(d) || typeof d.backend !== 'string' || !finite(d.threads) || d.threads < 1) throw new InputError(`${field}.device`, d, '{ backend, threads[, copy_gbps, peak_gflops] }');
  for (const k of ['copy_gbps', 'peak_gflops'] as const) if (d[k] !== undefined && !(finite(d[k]) && d[k] > 0)) throw new InputError(`${field}.device.${k}`, d[k], 'a positive number');
  if (!Array.isArray(m.columns) || !m.columns.every((c) => typeof c === 'string')) throw new InputError(`${field}.columns`, m.columns, 'an array of feature names');
  if (!Array.isArray(m.level) || m.level.length !== 3 || !m.level.every(finite)) throw new InputError(`${field}.level`, m.level, 'three finite numbers');
  if (!Array.isArray(m.trees) || m.trees.length === 0) throw new InputError(`${field}.trees`, m.trees, 'a non-empty array of trees { c, t, r }');
  const columns = m.columns.length;
  m.trees.forEach((t: unknown, i: number) => {
    const at = `${field}.trees[${i}]`;
    if (!isObject(t) || !Array.isArray(t.c) || !Array.isArray(t.t) || !Array.isArray(t.r) || t.c.length === 0 || t.t.length !== t.c.length || t.r.length !== t.c.length) throw new InputError(at, t, '{ c, t, r }: three arrays of one length');
    const n = t.c.length;
    for (let k = 0; k < n; k++) {
      const c = t.c[k];
      if (!Number.isInteger(c) || c < -1 || c >= columns) throw new InputError(`${at}.c[${k}]`, c, `−1 (a leaf) or a column index below ${columns}`);
      if (!finite(t.t[k])) throw new InputError(`${at}.t[${k}]`, t.t[k], 'a finite number');
      const r = t.r[k];
      if (c >= 0 && !(Number.isInteger(r) && r > k + 1 && r < n && k + 1 < n)) throw new InputError(`${at}.r[${k}]`, r, `the index of the node's right child: after its left child ${k + 1}, below ${n}`);
    }
  });
}
