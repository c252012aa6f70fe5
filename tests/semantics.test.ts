/** NeoCell semantics: the float64 reference against hand-worked cases, the dense form and invariants. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { neoInit, skewedIdentity } from '../core/neoinit.js';
import { depthwiseConvReference, neoCellDenseReference, neoCellReference } from '../core/reference.js';
import { Rng } from '../core/rng.js';
import { buildCell, type ChannelSpecInput, formatCell, parseCellText } from '../core/spec.js';
import { InputError } from '../core/errors.js';
import { neoCellProblem, problemFromRecord, problemKey, problemRecord } from '../harness/problem.js';
import { randomWeights } from '../core/weights.js';
import { arbCellProblem } from './arbitraries.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('NeoCell reference', () => {
  it('hand-worked 5×5, k = 3, shift = 1: corner filled with the bottom-right of the block, last block truncated', () => {
    // 3 channels, spec "3", shift 1 → 3 sub-groups of one channel; channel 1 has offset 1.
    const cell = buildCell(3, '3', { shift: 1 });
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // a[p][q], rows p
    const b = [10, 20, 30, 40, 50, 60, 70, 80, 90]; // b[q][p], input column q
    const w = { a: [new Float64Array(27)], b: [new Float64Array(27)] };
    w.a[0]!.set(a, 9);
    w.b[0]!.set(b, 9);
    // Written out by hand: A (5×5) and B (5×5) for offset 1.
    const A = [
      [9, 0, 0, 0, 0], // corner: a[2][2]
      [0, 1, 2, 3, 0],
      [0, 4, 5, 6, 0],
      [0, 7, 8, 9, 0],
      [0, 0, 0, 0, 1], // truncated last block: a[0][0]
    ];
    const B = [
      [90, 0, 0, 0, 0], // corner: b[2][2]
      [0, 10, 20, 30, 0],
      [0, 40, 50, 60, 0],
      [0, 70, 80, 90, 0],
      [0, 0, 0, 0, 10], // truncated last block: b[0][0]
    ];
    const rng = new Rng(5);
    const x = rng.float32Array(3 * 25);
    const y = neoCellReference(x, { N: 1, C: 3, H: 5, W: 5 }, cell, w);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 5; j++) {
        let expect = 0;
        for (let r = 0; r < 5; r++) for (let s = 0; s < 5; s++) expect += A[i]![r]! * x[25 + r * 5 + s]! * B[s]![j]!;
        assert.ok(Math.abs(y[25 + i * 5 + j]! - expect) < 1e-9, `Y[${i}][${j}] = ${y[25 + i * 5 + j]}, expected ${expect}`);
      }
    // Channels 0 and 2 use offsets 0 and 2: channel 0 is plain block diagonal with a truncated 2×2 last block.
    const x0 = new Float64Array(75);
    for (let i = 0; i < 5; i++) x0[i * 5 + i] = 1; // X = I for channel 0 → Y = A·B
    const w0 = { a: [new Float64Array(27)], b: [new Float64Array(27)] };
    w0.a[0]!.set(a, 0);
    w0.b[0]!.set([1, 0, 0, 0, 1, 0, 0, 0, 1], 0);
    const y0 = neoCellReference(x0, { N: 1, C: 3, H: 5, W: 5 }, cell, w0);
    assert.deepEqual(Array.from(y0.subarray(0, 25)), [1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 4, 5]);
  });

  it('equals the materialised dense form (two matmuls) for random specs, shapes and shifts', () => {
    fc.assert(
      fc.property(arbCellProblem(), ({ shape, cell, seed }) => {
        const x = new Rng(seed).float32Array(shape.N * shape.C * shape.H * shape.W);
        const w = randomWeights(cell, seed + 1);
        const block = neoCellReference(x, shape, cell, w);
        const dense = neoCellDenseReference(x, shape, cell, w);
        assert.ok(maxAbsDiff(block, dense) < 1e-9);
      }),
      { numRuns: 150, seed: 42 },
    );
  });

  it('NeoInit without noise is the identity map for square cells, with and without shifts', () => {
    fc.assert(
      fc.property(arbCellProblem({ squareOnly: true }), ({ shape, cell, seed }) => {
        const x = new Rng(seed).float32Array(shape.N * shape.C * shape.H * shape.W);
        const y = neoCellReference(x, shape, cell, neoInit(cell, { noise: false }));
        assert.equal(maxAbsDiff(y, x), 0);
      }),
      { numRuns: 100, seed: 7 },
    );
  });

  it('NeoInit with noise is seedable and perturbs the skewed identity', () => {
    const cell = buildCell(8, '4+7', { shift: 1 });
    const w1 = neoInit(cell, { seed: 3 });
    const w2 = neoInit(cell, { seed: 3 });
    const w3 = neoInit(cell, { seed: 4 });
    assert.deepEqual(w1, w2);
    assert.notDeepEqual(w1, w3);
    assert.notDeepEqual(w1, neoInit(cell, { noise: false }));
  });

  it('skewed identity: 2→1 gives [0.5 0.5], 1→2 gives [0.5; 0.5], 3→6 bands of two', () => {
    assert.deepEqual(Array.from(skewedIdentity(1, 2)), [0.5, 0.5]);
    assert.deepEqual(Array.from(skewedIdentity(2, 1)), [0.5, 0.5]);
    assert.deepEqual(Array.from(skewedIdentity(3, 6)), [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0, 0, 0.5, 0.5]);
    assert.deepEqual(Array.from(skewedIdentity(2, 2)), [1, 0, 0, 1]);
  });

  it('2→1 blocks of [0.5, 0.5] on both axes equal 2×2 average pooling (odd sizes drop the last row/column)', () => {
    for (const [H, W] of [
      [8, 6],
      [7, 9],
    ] as const) {
      const C = 3;
      const cell = buildCell(C, { h_in: 2, h_out: 1, w_in: 2, w_out: 1 });
      const w = neoInit(cell, { noise: false });
      const x = new Rng(H * W).float32Array(2 * C * H * W);
      const y = neoCellReference(x, { N: 2, C, H, W }, cell, w);
      const Ho = Math.floor(H / 2);
      const Wo = Math.floor(W / 2);
      for (let n = 0; n < 2; n++)
        for (let c = 0; c < C; c++)
          for (let i = 0; i < Ho; i++)
            for (let j = 0; j < Wo; j++) {
              const base = (n * C + c) * H * W;
              const avg = (x[base + 2 * i * W + 2 * j]! + x[base + 2 * i * W + 2 * j + 1]! + x[base + (2 * i + 1) * W + 2 * j]! + x[base + (2 * i + 1) * W + 2 * j + 1]!) / 4;
              assert.ok(Math.abs(y[((n * C + c) * Ho + i) * Wo + j]! - avg) < 1e-12);
            }
    }
  });

  it('1→2 blocks up-sample: every input value is spread over a 2×2 output patch', () => {
    const cell = buildCell(2, { h_in: 1, h_out: 2, w_in: 1, w_out: 2 });
    const w = { a: [Float64Array.from([1, 1, 1, 1])], b: [Float64Array.from([1, 1, 1, 1])] };
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 2 channels of 2×3
    const y = neoCellReference(x, { N: 1, C: 2, H: 2, W: 3 }, cell, w);
    assert.equal(y.length, 2 * 4 * 6);
    assert.deepEqual(Array.from(y.subarray(0, 12)), [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  });

  it('is linear in X', () => {
    fc.assert(
      fc.property(arbCellProblem(), fc.double({ min: -3, max: 3, noNaN: true }), ({ shape, cell, seed }, alpha) => {
        const n = shape.N * shape.C * shape.H * shape.W;
        const rng = new Rng(seed);
        const x1 = rng.float32Array(n);
        const x2 = rng.float32Array(n);
        const w = randomWeights(cell, seed + 2);
        const mix = Float64Array.from(x1, (v, i) => alpha * v + x2[i]!);
        const lhs = neoCellReference(mix, shape, cell, w);
        const y1 = neoCellReference(x1, shape, cell, w);
        const y2 = neoCellReference(x2, shape, cell, w);
        assert.ok(maxAbsDiff(lhs, Float64Array.from(y1, (v, i) => alpha * v + y2[i]!)) < 1e-9);
      }),
      { numRuns: 60, seed: 11 },
    );
  });

  it('groups are contiguous channel ranges in spec order with the remainder in the last group', () => {
    const cell = buildCell(97, '4+7');
    assert.deepEqual(
      cell.groups.map((g) => [g.start, g.channels, g.a.in]),
      [
        [0, 48, 4],
        [48, 49, 7],
      ],
    );
    const three = buildCell(10, '3+5+7');
    assert.deepEqual(
      three.groups.map((g) => g.channels),
      [3, 3, 4],
    );
    const explicit: ChannelSpecInput[] = [
      { channels: 2, kernel: 3 },
      { channels: 6, kernel_a: 2, kernel_b: 5, shift_a: 1 },
    ];
    const e = buildCell(8, explicit);
    assert.deepEqual(e.groups[1], { start: 2, channels: 6, a: { in: 2, out: 2, shift: 1 }, b: { in: 5, out: 5, shift: 0 } });
  });
});

describe('depthwise conv reference', () => {
  it('a centred one-hot kernel is the identity and "same" padding keeps the shape', () => {
    const K = 7;
    const C = 2;
    const w = new Float64Array(C * K * K);
    for (let c = 0; c < C; c++) w[c * K * K + 3 * K + 3] = 1;
    const x = new Rng(1).float32Array(C * 9 * 5);
    assert.equal(maxAbsDiff(depthwiseConvReference(x, { N: 1, C, H: 9, W: 5 }, K, w), x), 0);
  });

  it('an all-ones 3×3 kernel sums the zero-padded neighbourhood (hand-computed corner and centre)', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y = depthwiseConvReference(x, { N: 1, C: 1, H: 3, W: 3 }, 3, new Float64Array(9).fill(1));
    assert.equal(y[0], 1 + 2 + 4 + 5);
    assert.equal(y[4], 45);
    assert.equal(y[8], 5 + 6 + 8 + 9);
  });
});

describe('canonical cell text', () => {
  it('parseCellText inverts formatCell for random cells (square, shifted, rectangular), and problem records rebuild their problem', () => {
    fc.assert(
      fc.property(arbCellProblem(), ({ shape, cell }) => {
        const text = formatCell(cell);
        assert.equal(formatCell(buildCell(cell.C, parseCellText(text))), text);
        const p = neoCellProblem({ ...shape, spec: parseCellText(text) });
        assert.equal(problemKey(problemFromRecord(problemRecord(p))), problemKey(p));
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('a text that is not a cell, and a record whose label lies, are refused naming the field', () => {
    assert.throws(() => parseCellText('48c:k4+x'), (e: InputError) => e.field === 'spec' && /"x" is not a group/.test(e.message));
    const r = problemRecord(neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: '3' }));
    assert.throws(() => problemFromRecord({ ...r, label: '5' }), (e: InputError) => e.field === 'problem.label');
    assert.throws(() => problemFromRecord({ ...r, spec: '8c:k3s9' }), (e: InputError) => e.field.startsWith('problem.'));
  });
});
