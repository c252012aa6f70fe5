/**
 * NeoInit: each block starts as a "skewed identity" plus Gaussian noise scaled by 1/sqrt(in·out).
 * Without noise a square cell is the identity map (Y = X), with or without shifts.
 */
import type { CellSpec } from './spec.js';
import { Rng } from './rng.js';
import type { CellWeights } from './weights.js';

/**
 * Skewed identity of an n × m block (row-major). Identity when n = m; otherwise each index i of the
 * smaller dimension gets a band of round(larger / smaller) ones along the larger dimension, starting
 * at i·step and clipped at the edge, normalised so the band sums to 1 (2→1 gives [0.5 0.5]).
 */
export function skewedIdentity(n: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  if (n === m) {
    for (let i = 0; i < n; i++) out[i * m + i] = 1;
    return out;
  }
  const small = Math.min(n, m);
  const large = Math.max(n, m);
  const step = Math.round(large / small);
  for (let i = 0; i < small; i++) {
    const lo = i * step;
    const hi = Math.min(lo + step, large);
    if (hi <= lo) continue;
    const v = 1 / (hi - lo);
    for (let j = lo; j < hi; j++) {
      if (n < m) out[i * m + j] = v;
      else out[j * m + i] = v;
    }
  }
  return out;
}

export interface NeoInitOptions {
  /** Add the Gaussian noise term (default true, as in the network). */
  noise?: boolean;
  seed?: number;
}

/** NeoInit weights for every channel of a cell: a blocks h_out × h_in, b blocks w_in × w_out. */
export function neoInit(cell: CellSpec, opts: NeoInitOptions = {}): CellWeights {
  const rng = new Rng(opts.seed ?? 1);
  const noise = opts.noise ?? true;
  const block = (rows: number, cols: number, fanScale: number): Float64Array => {
    const base = skewedIdentity(rows, cols);
    if (noise) for (let i = 0; i < base.length; i++) base[i]! += rng.gaussian() * fanScale;
    return base;
  };
  const a: Float64Array[] = [];
  const b: Float64Array[] = [];
  for (const g of cell.groups) {
    const sa = 1 / Math.sqrt(g.a.in * g.a.out);
    const sb = 1 / Math.sqrt(g.b.in * g.b.out);
    const ga = new Float64Array(g.channels * g.a.out * g.a.in);
    const gb = new Float64Array(g.channels * g.b.in * g.b.out);
    for (let c = 0; c < g.channels; c++) {
      ga.set(block(g.a.out, g.a.in, sa), c * g.a.out * g.a.in);
      gb.set(block(g.b.in, g.b.out, sb), c * g.b.in * g.b.out);
    }
    a.push(ga);
    b.push(gb);
  }
  return { a, b };
}
