/**
 * The one case table every NeoCell kernel of every backend is verified on: groups, shifts
 * (including shift_a ≠ shift_b), partial blocks, rectangular 2→1 and 1→2, batch > 1.
 */
import type { ChannelSpecInput } from '../core/spec.js';
import { neoCellProblem } from '../harness/problem.js';
import type { NeoCellProblem } from '../harness/types.js';
import type { NeoCellLayer } from '../runtime/neocell.js';

export const CELL_CASES: readonly { name: string; problem: NeoCellProblem }[] = [
  { name: 'k7 exact blocks', problem: neoCellProblem({ N: 1, C: 4, H: 14, W: 14, spec: '7' }) },
  { name: '4+7 shift 1 (network stage cell)', problem: neoCellProblem({ N: 1, C: 16, H: 14, W: 14, spec: '4+7', shift: 1 }) },
  { name: '3+5+7 partial blocks, shift 2, batch 2', problem: neoCellProblem({ N: 2, C: 9, H: 11, W: 13, spec: '3+5+7', shift: 2 }) },
  { name: 'shift_a ≠ shift_b, W 8 (vec4 rows)', problem: neoCellProblem({ N: 1, C: 12, H: 10, W: 8, spec: [{ kernel: 5, shift_a: 1, shift_b: 3 }] }) },
  { name: 'H, W smaller than the block', problem: neoCellProblem({ N: 1, C: 3, H: 4, W: 5, spec: '7', shift: 2 }) },
  { name: '2→1 down-sampling, odd size', problem: neoCellProblem({ N: 2, C: 5, H: 9, W: 7, spec: { h_in: 2, h_out: 1, w_in: 2, w_out: 1 } }) },
  { name: '1→2 up-sampling', problem: neoCellProblem({ N: 1, C: 3, H: 5, W: 6, spec: { h_in: 1, h_out: 2, w_in: 1, w_out: 2 } }) },
  // Rows long enough for narrow blocks packed four per vector, with a remainder and a clipped end.
  { name: '2→1 down-sampling, W 23, batch 2', problem: neoCellProblem({ N: 2, C: 3, H: 6, W: 23, spec: { h_in: 2, h_out: 1, w_in: 2, w_out: 1 } }) },
  { name: '1→2 up-sampling, W 11', problem: neoCellProblem({ N: 1, C: 2, H: 4, W: 11, spec: { h_in: 1, h_out: 2, w_in: 1, w_out: 2 } }) },
  { name: 'mixed rectangular A 3→2, B 2→3', problem: neoCellProblem({ N: 1, C: 4, H: 8, W: 7, spec: { h_in: 3, h_out: 2, w_in: 2, w_out: 3 } }) },
  { name: 'k1 and k2 groups', problem: neoCellProblem({ N: 1, C: 5, H: 6, W: 6, spec: '1+2', shift_b: 0 }) },
];

/** A case as an application passes it to the runtime: the cell as the official list of channel specs. */
export function layerOf(p: NeoCellProblem): NeoCellLayer {
  const spec: ChannelSpecInput[] = p.cell.groups.map((g) => ({ channels: g.channels, h_in: g.a.in, h_out: g.a.out, w_in: g.b.in, w_out: g.b.out, shift_a: g.a.shift, shift_b: g.b.shift }));
  return { N: p.N, C: p.C, H: p.H, W: p.W, spec };
}
