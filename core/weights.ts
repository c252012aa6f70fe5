/**
 * NeoCell weights, one array pair per group. Layouts (row-major, channel-major):
 *   a[g][c·h_out·h_in + p·h_in + q]  = a_c[p][q]  (output row p, input row q)
 *   b[g][c·w_in·w_out + q·w_out + p] = b_c[q][p]  (input column q, output column p)
 */
import type { CellSpec } from './spec.js';
import { Rng } from './rng.js';

export interface CellWeights {
  readonly a: readonly Float64Array[];
  readonly b: readonly Float64Array[];
}

/** Random weights uniform in [-1, 1), rounded to float32 so float32 kernels see exactly these values. */
export function randomWeights(cell: CellSpec, seed: number): CellWeights {
  const rng = new Rng(seed);
  const fill = (n: number) => Float64Array.from(rng.float32Array(n));
  return {
    a: cell.groups.map((g) => fill(g.channels * g.a.out * g.a.in)),
    b: cell.groups.map((g) => fill(g.channels * g.b.in * g.b.out)),
  };
}

/** Weight of block entry (outLocal, inLocal) of channel c (index inside its group) on an axis. */
export function blockWeight(w: CellWeights, g: number, cell: CellSpec, axis: 'a' | 'b', c: number, outLocal: number, inLocal: number): number {
  const group = cell.groups[g]!;
  if (axis === 'a') {
    const { in: i, out: o } = group.a;
    return w.a[g]![c * o * i + outLocal * i + inLocal]!;
  }
  const { in: i, out: o } = group.b;
  return w.b[g]![c * i * o + inLocal * o + outLocal]!;
}
