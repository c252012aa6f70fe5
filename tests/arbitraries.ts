/** fast-check generators of valid NeoCell problems (groups, shifts, partial and rectangular blocks, batch). */
import fc from 'fast-check';
import type { Shape4 } from '../core/reference.js';
import { buildCell, type CellSpec, type ChannelSpecInput } from '../core/spec.js';

export interface CellCase {
  shape: Shape4;
  cell: CellSpec;
  groups: ChannelSpecInput[];
  seed: number;
}

const squareGroup = fc
  .integer({ min: 1, max: 7 })
  .chain((k) => fc.record({ kernel: fc.constant(k), shift_a: fc.integer({ min: 0, max: k - 1 }), shift_b: fc.integer({ min: 0, max: k - 1 }) }));

export function arbCellProblem(opts: { squareOnly?: boolean; maxSize?: number } = {}): fc.Arbitrary<CellCase> {
  const maxSize = opts.maxSize ?? 17;
  const square = fc.array(squareGroup, { minLength: 1, maxLength: 3 });
  const rect = fc
    .record({ h_in: fc.integer({ min: 1, max: 3 }), h_out: fc.integer({ min: 1, max: 3 }), w_in: fc.integer({ min: 1, max: 3 }), w_out: fc.integer({ min: 1, max: 3 }) })
    .chain((r) => fc.array(fc.constant(r as ChannelSpecInput), { minLength: 1, maxLength: 2 }));
  const groupsArb = opts.squareOnly ? square : fc.oneof(square, rect);
  return fc
    .record({
      groups: groupsArb,
      extraC: fc.integer({ min: 0, max: 5 }),
      N: fc.integer({ min: 1, max: 2 }),
      H: fc.integer({ min: 3, max: maxSize }),
      W: fc.integer({ min: 3, max: maxSize }),
      seed: fc.integer({ min: 1, max: 1_000_000 }),
    })
    .map(({ groups, extraC, N, H, W, seed }) => {
      const C = groups.length + extraC;
      return { shape: { N, C, H, W }, cell: buildCell(C, groups), groups, seed };
    });
}
