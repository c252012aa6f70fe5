/** Bad input gets an InputError naming the field and the allowed values. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.js';
import { parseModel, neonextLayers } from '../core/network.js';
import { buildCell, cellOutputShape, parseKernelSpec } from '../core/spec.js';
import { neoCellProblem } from '../harness/problem.js';

function throwsField(fn: () => unknown, field: RegExp | string, allowed: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    if (typeof field === 'string') assert.equal(e.field, field);
    else assert.match(e.field, field);
    assert.match(e.message, allowed);
    assert.match(e.message, new RegExp(`invalid ${e.field.replace(/[.[\]]/g, '\\$&')}`));
    return true;
  });
}

describe('input errors', () => {
  it('invalid spec strings', () => {
    for (const s of ['4+', 'x', '0', '4+-7', '', '+7', '4 + ', '7.5', '4++7', '65']) throwsField(() => parseKernelSpec(s), 'spec', /positive integers joined by '\+'/);
    assert.deepEqual(parseKernelSpec(' 3 + 5+7 '), [3, 5, 7]);
  });

  it('shift ≥ block size and shift on a rectangular block', () => {
    throwsField(() => buildCell(8, '7', { shift: 7 }), 'groups[0].shift', /0 to 6/);
    throwsField(() => buildCell(8, [{ kernel: 4, shift_b: 4 }]), 'groups[0].shift_b', /0 to 3/);
    throwsField(() => buildCell(8, { h_in: 2, h_out: 1, w_in: 2, w_out: 1, shift: 1 }), 'groups[0].shift', /only square blocks may be shifted/);
    throwsField(() => buildCell(8, '7', { shift: -1 }), 'groups[0].shift', /non-negative integer/);
  });

  it('channels not summing to C, too few channels, partial channel lists', () => {
    throwsField(() => buildCell(10, [{ channels: 4, kernel: 3 }, { channels: 5, kernel: 7 }]), 'channels', /summing to C = 10/);
    throwsField(() => buildCell(2, '3+5+7'), 'channels', /at least 3/);
    throwsField(() => buildCell(10, [{ channels: 4, kernel: 3 }, { kernel: 7 }]), 'channels', /every group gives channels or none/);
  });

  it('zero, negative and non-integer sizes', () => {
    throwsField(() => buildCell(0, '7'), 'C', /positive integer/);
    throwsField(() => buildCell(8, [{ kernel: 0 }]), 'groups[0].kernel', /1 to 64/);
    throwsField(() => buildCell(8, [{ h_in: 2.5, h_out: 1, kernel_b: 3 }]), 'groups[0].h_in', /1 to 64/);
    throwsField(() => neoCellProblem({ N: 0, C: 8, H: 7, W: 7, spec: '7' }), 'N', /positive integer/);
    throwsField(() => neoCellProblem({ N: 1, C: 8, H: -7, W: 7, spec: '7' }), 'H', /positive integer/);
    throwsField(() => neoCellProblem({ N: 1, C: 8, H: 7, W: 7.5, spec: '7' }), 'W', /positive integer/);
  });

  it('missing block sizes, unknown fields, zero output size, mismatched group outputs', () => {
    throwsField(() => buildCell(8, [{ h_in: 2 }]), /groups\[0\]\.(h_out|w_in)/, /block size/);
    throwsField(() => buildCell(8, [{ kernel: 3, shfit: 1 } as never]), 'groups[0].shfit', /unknown field|one of the fields/);
    throwsField(() => cellOutputShape(buildCell(4, { h_in: 2, h_out: 1, w_in: 2, w_out: 1 }), 1, 4), 'H', /output size is too small|at least 2/);
    throwsField(() => neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: [{ kernel: 3 }, { h_in: 2, h_out: 1, kernel_b: 3 }] }), 'groups[1]', /output size of group 0/);
  });

  it('tensors over the size limit, bad dtype, bad model and resolution', () => {
    throwsField(() => neoCellProblem({ N: 1024, C: 1024, H: 64, W: 64, spec: '7' }), 'N·C·H·W', /at most/);
    throwsField(() => neoCellProblem({ N: 1, C: 8, H: 8, W: 8, spec: '7', dtype: 'float64' as never }), 'dtype', /float32, float16/);
    throwsField(() => parseModel('m'), 'model', /t, s, b, l, xl/);
    throwsField(() => neonextLayers('t', 16), 'resolution', /≥ 32/);
  });
});
