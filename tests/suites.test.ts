/** Suites: network suites, micro sweeps and user-defined suite files validated against a schema. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.js';
import { resolveSuite, SWEEPS } from '../suites/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'neotune-suites-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('suites', () => {
  it('NeoNeXt-T: the four stage cells and three down-sampling cells, with occurrences 3/3/9/3 for the stages', () => {
    const s = resolveSuite('neonext-t');
    assert.deepEqual(s.cases.map((c) => c.name), ['stage1.neocell', 'down1.neocell', 'stage2.neocell', 'down2.neocell', 'stage3.neocell', 'down3.neocell', 'stage4.neocell']);
    assert.deepEqual(s.cases.filter((c) => c.name.startsWith('stage')).map((c) => c.occurrences), [3, 3, 9, 3]);
  });

  it('sweeps vary one dimension around 1×96×56×56, k = 7', () => {
    assert.deepEqual(resolveSuite('sweep-block').cases.map((c) => c.neocell.cell.groups[0]!.a.in), [2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(resolveSuite('sweep-batch').cases.map((c) => c.neocell.N), [1, 2, 4, 8]);
    assert.deepEqual(resolveSuite('sweep-spatial').cases.map((c) => c.neocell.H), [7, 14, 28, 56, 112]);
    assert.ok(resolveSuite('sweep-channels').cases.every((c) => c.neocell.H === 28));
    assert.equal(SWEEPS.length, 4);
  });

  it('a YAML suite file: groups, shifts, rectangular blocks, occurrences; --batch overrides', () => {
    const p = write('ok.yaml', 'name: mine\ncases:\n  - { name: stage1, C: 96, H: 56, W: 56, spec: "4+7", shift: 1, occurrences: 3 }\n  - { name: rect, C: 32, H: 28, W: 28, spec: [{ h_in: 2, h_out: 1, w_in: 2, w_out: 1 }] }\n');
    const s = resolveSuite(p, { batch: 4 });
    assert.equal(s.name, 'mine');
    assert.deepEqual(s.cases.map((c) => [c.name, c.occurrences, c.neocell.N, c.neocell.cell.groups.length]), [
      ['stage1', 3, 4, 2],
      ['rect', 1, 4, 1],
    ]);
    assert.equal(s.cases[1]!.dwconv.H, 14);
  });

  it('a JSON suite file works the same', () => {
    const p = write('ok.json', JSON.stringify({ name: 'j', batch: 2, cases: [{ name: 'a', C: 8, H: 14, W: 14, spec: '7' }] }));
    assert.equal(resolveSuite(p).cases[0]!.neocell.N, 2);
  });

  for (const [name, text, field, allowed] of [
    ['negative.yaml', 'name: x\ncases:\n  - { name: a, C: -3, H: 8, W: 8, spec: "7" }\n', /cases\[0\]\.C/, /must be >= 1/],
    ['unknown.json', '{"name":"x","cases":[{"name":"a","C":8,"H":8,"W":8,"spec":"7","colour":1}]}', /cases\[0\]\.colour/, /no such field; allowed: name, N, C, H, W, spec/],
    ['missing.json', '{"name":"x","cases":[{"name":"a","C":8,"H":8,"spec":"7"}]}', /cases\[0\]\.W/, /required/],
    ['empty.yaml', 'name: x\ncases: []\n', /cases/, /fewer than 1 items/],
    ['shift.json', '{"name":"x","cases":[{"name":"a","C":8,"H":8,"W":8,"spec":"4","shift":4}]}', /cases\[0\] \(a\)\..*shift/, /smaller than the block size 4/],
    ['broken.yaml', 'name: [unclosed\n', /suite/, /valid YAML/],
  ] as const) {
    it(`bad file ${name}: the error names the field and what is allowed`, () => {
      assert.throws(
        () => resolveSuite(write(name, text)),
        (e: unknown) => e instanceof InputError && field.test(e.message) && allowed.test(e.message),
      );
    });
  }
});
