/** FLOP model: conventions, hand-computed cells, and the network against the published table. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cellCost } from '../core/flops.js';
import { countNetwork, PUBLISHED, type ModelName } from '../core/network.js';
import { buildCell } from '../core/spec.js';

describe('cell cost', () => {
  it('square k: 2k MACs per output (nominal), dense = H + W per output, bytes = in + out + weights', () => {
    const c = cellCost(buildCell(96, '7'), 1, 56, 56);
    assert.equal(c.nominalAFirst, 96 * 56 * 56 * 14);
    assert.equal(c.useful, 96 * 56 * 56 * 14); // 56 is a multiple of 7, no shift: exact = nominal
    assert.equal(c.dense, 96 * (56 * 56 * 56 * 2));
    assert.equal(c.bytes.total, 4 * (2 * 96 * 56 * 56 + 96 * 98));
    assert.equal(c.params, 96 * 98);
  });

  it('partial blocks and shift corners skip zeros in the exact count only', () => {
    const c = cellCost(buildCell(1, '3'), 1, 5, 5); // blocks 3 + 2: A has 9 + 4 non-zeros
    assert.equal(c.nominalAFirst, 5 * 5 * 3 + 5 * 5 * 3);
    assert.equal(c.usefulAFirst, 13 * 5 + 5 * 13);
  });

  it('rectangular 2→1: both application orders, the cheaper one is "useful"', () => {
    const c = cellCost(buildCell(1, { h_in: 2, h_out: 1, w_in: 2, w_out: 1 }), 1, 8, 8);
    assert.equal(c.nominalAFirst, 4 * 8 * 2 + 4 * 4 * 2); // H_out·W·h_in + H_out·W_out·w_in
    assert.equal(c.nominalBFirst, 8 * 4 * 2 + 4 * 4 * 2);
    const up = cellCost(buildCell(1, { h_in: 1, h_out: 2, w_in: 2, w_out: 1 }), 1, 8, 8);
    assert.notEqual(up.usefulAFirst, up.usefulBFirst);
    assert.equal(up.useful, Math.min(up.usefulAFirst, up.usefulBFirst));
  });
});

describe('NeoNeXt network count', () => {
  it('params and GMACs of T, S, B at 224 are within 1 % of the published table (nominal and useful conventions)', () => {
    for (const m of ['t', 's', 'b'] as ModelName[]) {
      const n = countNetwork(m, 224);
      const pub = PUBLISHED[m];
      assert.ok(Math.abs(n.params / 1e6 / pub.paramsM! - 1) < 0.01, `${m} params ${n.params}`);
      for (const conv of ['nominal', 'useful'] as const) {
        assert.ok(Math.abs(n.macs[conv] / 1e9 / pub.gmacs224! - 1) < 0.01, `${m} ${conv} ${n.macs[conv]}`);
      }
      // The dense convention counts more (zeros included) and rounds above the table.
      assert.ok(n.macs.dense > n.macs.nominal);
    }
  });

  it('NeoNeXt-T at 224: stage shapes, shifts and NeoCell MACs by hand', () => {
    const n = countNetwork('t', 224);
    const cells = n.layers.filter((l) => l.kind === 'neocell');
    assert.deepEqual(
      cells.map((l) => [l.C, l.H, l.occurrences]),
      [
        [96, 56, 3],
        [192, 28, 3],
        [384, 14, 9],
        [768, 7, 3],
      ],
    );
    assert.deepEqual(n.shifts, [1, 1, 1, 0]);
    // stage 1: 48 channels k=4 (8 MACs/output) + 48 channels k=7 (14 MACs/output) on 56×56
    assert.equal(cells[0]!.neocell!.nominal, 56 * 56 * (48 * 8 + 48 * 14));
    // depthwise 7×7 in place of the square NeoCells costs 49 MACs per output instead
    assert.ok(n.dwconv7.macs > n.macs.nominal);
  });
});
