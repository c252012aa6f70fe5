/**
 * A random forest for regression (Breiman 2001) with histogram splits, as the cost model's
 * learner: bootstrap samples, a random subset of the columns at each node, variance-reduction
 * splits on at most MAX_BINS candidate thresholds per column (LightGBM's binning), leaves at
 * least `minLeaf` rows. The spread of the trees' predictions is the uncertainty SMAC's random
 * forests give their Bayesian optimisation.
 *
 * Written here rather than taken from a library: ml-random-forest (mljs), the maintained JavaScript
 * one, sorts every column at every node and did not finish training on the hub's 6 000 rows in
 * ten minutes on this machine; this one trains them in well under a second, in Node or a page,
 * and is deterministic for a seed.
 */
import { Rng } from '../core/rng.js';

export interface ForestOptions {
  readonly trees: number;
  readonly maxDepth: number;
  readonly minLeaf: number;
  /** Fraction of the columns tried at each node. */
  readonly columnFraction: number;
  readonly seed: number;
}

export const DEFAULT_FOREST: ForestOptions = { trees: 64, maxDepth: 16, minLeaf: 5, columnFraction: 0.5, seed: 1 };

const MAX_BINS = 64;

/**
 * One tree as flat arrays: node i splits on column[i] at threshold[i] (≤ goes left) or, when
 * column[i] < 0, is a leaf of value[i]. Nodes are in pre-order: a split's left child is node i + 1.
 */
export interface Tree {
  readonly column: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
}

export interface Forest {
  readonly trees: readonly Tree[];
  /** Mean and standard deviation of the trees' predictions for one row. */
  predict(row: Float64Array): { mean: number; sd: number };
}

/** Candidate thresholds of one column: midpoints between its distinct values (or between quantiles when there are too many). */
function thresholds(values: Float64Array): Float64Array {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  let cuts = distinct;
  if (distinct.length > MAX_BINS) {
    const sorted = Float64Array.from(values).sort();
    cuts = [...new Set(Array.from({ length: MAX_BINS }, (_, i) => sorted[Math.floor(((i + 0.5) * sorted.length) / MAX_BINS)]!))];
  }
  return Float64Array.from(cuts.slice(0, -1).map((v, i) => (v + cuts[i + 1]!) / 2));
}

export function trainForest(rows: readonly Float64Array[], y: ArrayLike<number>, options: Partial<ForestOptions> = {}): Forest {
  const o = { ...DEFAULT_FOREST, ...options };
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  if (n === 0) throw new Error('trainForest: no rows');
  // Bin every column once: bins[c][i] = number of thresholds below row i's value.
  const cuts: Float64Array[] = [];
  const bins: Uint8Array[] = [];
  for (let c = 0; c < d; c++) {
    const col = Float64Array.from(rows, (r) => r[c]!);
    const t = thresholds(col);
    cuts.push(t);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let k = 0;
      while (k < t.length && col[i]! > t[k]!) k++;
      b[i] = k;
    }
    bins.push(b);
  }
  const splittable = cuts.map((t, c) => [t.length, c] as const).filter(([len]) => len > 0).map(([, c]) => c);
  const perNode = Math.max(1, Math.round(o.columnFraction * splittable.length));
  const rng = new Rng(o.seed);
  const trees: Tree[] = [];
  const sum = new Float64Array(MAX_BINS + 1);
  const count = new Float64Array(MAX_BINS + 1);
  for (let t = 0; t < o.trees; t++) {
    const sample = Int32Array.from({ length: n }, () => rng.int(0, n - 1));
    const column: number[] = [];
    const threshold: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const value: number[] = [];
    const grow = (idx: Int32Array, depth: number): number => {
      const node = column.length;
      let total = 0;
      for (let q = 0; q < idx.length; q++) total += y[idx[q]!]!;
      column.push(-1);
      threshold.push(0);
      left.push(-1);
      right.push(-1);
      value.push(total / idx.length);
      if (depth >= o.maxDepth || idx.length < 2 * o.minLeaf) return node;
      let best = { gain: 1e-12, column: -1, bin: -1 };
      const base = (total * total) / idx.length;
      // A partial Fisher–Yates shuffle picks this node's columns.
      const cols = splittable.slice();
      for (let k = 0; k < perNode; k++) {
        const j = rng.int(k, cols.length - 1);
        [cols[k], cols[j]] = [cols[j]!, cols[k]!];
        const c = cols[k]!;
        const nb = cuts[c]!.length + 1;
        sum.fill(0, 0, nb);
        count.fill(0, 0, nb);
        const b = bins[c]!;
        for (let q = 0; q < idx.length; q++) {
          const i = idx[q]!;
          const bi = b[i]!;
          sum[bi] = sum[bi]! + y[i]!;
          count[bi] = count[bi]! + 1;
        }
        let sl = 0;
        let nl = 0;
        for (let k2 = 0; k2 < nb - 1; k2++) {
          sl += sum[k2]!;
          nl += count[k2]!;
          const nr = idx.length - nl;
          if (nl < o.minLeaf || nr < o.minLeaf) continue;
          const sr = total - sl;
          const gain = (sl * sl) / nl + (sr * sr) / nr - base;
          if (gain > best.gain) best = { gain, column: c, bin: k2 };
        }
      }
      if (best.column < 0) return node;
      const b = bins[best.column]!;
      const l = idx.filter((i) => b[i]! <= best.bin);
      const r = idx.filter((i) => b[i]! > best.bin);
      column[node] = best.column;
      threshold[node] = cuts[best.column]![best.bin]!;
      left[node] = grow(l, depth + 1);
      right[node] = grow(r, depth + 1);
      return node;
    };
    grow(sample, 0);
    trees.push({ column: Int32Array.from(column), threshold: Float64Array.from(threshold), left: Int32Array.from(left), right: Int32Array.from(right), value: Float64Array.from(value) });
  }
  return { trees, predict: (row) => predictTrees(trees, row) };
}

/** Mean and standard deviation of the trees' leaf values for one row. */
export function predictTrees(trees: readonly { readonly [K in keyof Tree]: ArrayLike<number> }[], row: ArrayLike<number>): { mean: number; sd: number } {
  let s = 0;
  let s2 = 0;
  for (const tree of trees) {
    let i = 0;
    while (tree.column[i]! >= 0) i = row[tree.column[i]!]! <= tree.threshold[i]! ? tree.left[i]! : tree.right[i]!;
    const v = tree.value[i]!;
    s += v;
    s2 += v * v;
  }
  const mean = s / trees.length;
  return { mean, sd: Math.sqrt(Math.max(0, s2 / trees.length - mean * mean)) };
}
