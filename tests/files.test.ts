/**
 * Safe files: atomic writes through symlinks keeping the mode, output paths refused before any
 * work (folders, read-only files and folders, paths under a file), finished results rescued next
 * to a bad path, db-merge refusing missing inputs and re-winning with each backend's variants.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../core/errors.js';
import { checkOutputPath, writeFileAtomic, writeOrRescue } from '../core/files.js';
import { neoCellProblem, problemRecord } from '../harness/problem.js';
import { type CandidateRecord, emptyDb, entryKey, snapshotText, TuningStore } from '../tuner/db.js';
import { entryWinner } from '../tuner/tune.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'neotune-files-'));
const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');
const neotune = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('atomic writes', () => {
  it('write through a symlink: the link stays, its target gets the data and keeps its mode', () => {
    const dir = tmp();
    const real = join(dir, 'real.json');
    writeFileSync(real, 'old');
    chmodSync(real, 0o600);
    const link = join(dir, 'link.json');
    symlinkSync(real, link);
    writeFileAtomic(link, 'new');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readlinkSync(link), real);
    assert.equal(readFileSync(real, 'utf8'), 'new');
    assert.equal(statSync(real).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['link.json', 'real.json'], 'no temp file left');
  });

  it('a database save keeps a 0600 mode and a symlinked database stays a symlink', async () => {
    const dir = tmp();
    const real = join(dir, 'store', 'db.json');
    mkdirSync(join(dir, 'store'));
    writeFileSync(real, snapshotText(emptyDb()));
    chmodSync(real, 0o600);
    const link = join(dir, 'db.json');
    symlinkSync(real, link);
    const store = await TuningStore.open(link, { write: true });
    const problem = problemRecord(neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '3' }));
    const entry = { device: 'd', backend: 'cpu' as const, problem, candidates: {} };
    await store.recordCandidate(entry, 'k@h', { key: 'k', config: { variant: 'sparse-js', params: {} }, source_hash: 'h', state: 'failed', error: 'x' });
    assert.equal(statSync(`${real}.journal`).mode & 0o777, 0o600, 'the journal has the database\'s mode');
    await store.compact();
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(statSync(real).mode & 0o777, 0o600);
    assert.match(readFileSync(real, 'utf8'), /"k@h"/);
  });

  it('a symlink planted at the journal\'s name is refused, its target untouched', async () => {
    const dir = tmp();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(dir, 'db.json.journal'));
    await assert.rejects(TuningStore.open(join(dir, 'db.json'), { write: true }), /journal is a regular file/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
  });
});

describe('output paths are checked before any work', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'a-file'), 'x');
  writeFileSync(join(dir, 'read-only.json'), 'x');
  chmodSync(join(dir, 'read-only.json'), 0o444);
  mkdirSync(join(dir, 'read-only-folder'));
  chmodSync(join(dir, 'read-only-folder'), 0o555);
  const cases: [string, string, RegExp][] = [
    ['a folder', dir, /is a folder/],
    ['a read-only file', join(dir, 'read-only.json'), /read-only/],
    ['a file in a read-only folder', join(dir, 'read-only-folder', 'x.json'), /folder .* is read-only/],
    ['a path under a file', join(dir, 'a-file', 'x.json'), /a-file is a file/],
  ];
  for (const [what, path, pattern] of cases) {
    it(`${what} is refused, naming the option`, () => {
      assert.throws(() => checkOutputPath('json', path), (e: Error) => e instanceof InputError && /^invalid json: /.test(e.message) && pattern.test(e.message));
    });
  }

  it('tune refuses a read-only database before running a candidate', () => {
    const r = neotune('tune', '--backend', 'cpu', '--suite', 'smoke', '--db', join(dir, 'read-only.json'));
    assert.equal(r.code, 2);
    assert.match(r.err, /invalid db: .*read-only/);
    assert.equal(readFileSync(join(dir, 'read-only.json'), 'utf8'), 'x');
  });

  it('finished results are rescued next to an output path that cannot be written, and the error says where', () => {
    const d = tmp();
    mkdirSync(join(d, 'out.json'));
    assert.throws(() => writeOrRescue('json', join(d, 'out.json'), '{"done":true}'), (e: Error) => /results were written to (\S+) instead/.test(e.message));
    const rescued = readdirSync(d).find((f) => f.startsWith('neotune-rescued-'))!;
    assert.equal(readFileSync(join(d, rescued), 'utf8'), '{"done":true}');
  });
});

describe('db-merge', () => {
  it('a missing input is an error and the output is not touched', () => {
    const dir = tmp();
    const out = join(dir, 'merged.json');
    writeFileSync(out, 'keep me');
    writeFileSync(join(dir, 'a.json'), snapshotText(emptyDb()));
    const r = neotune('db-merge', join(dir, 'a.json'), join(dir, 'typo.json'), '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.err, /invalid files: .*typo\.json.*no such file/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
  });

  it('winners are recomputed with the variants of each entry\'s own backend', async () => {
    const dir = tmp();
    const db = emptyDb();
    const problem = problemRecord(neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '3' }));
    const samples = [1, 1.01, 0.99, 1.02, 0.98, 1, 1.01, 0.99, 1, 1];
    const cand = (variant: string): CandidateRecord => ({ key: `${variant}:wg=64`, config: { variant, params: { wg: 64 } }, source_hash: 'h', state: 'verified', median_ms: 1, samples_ms: samples });
    const entry = { device: 'webgpu | gpu', backend: 'webgpu' as const, problem, candidates: Object.fromEntries(['dense-wgsl', 'sparse-wgsl'].map((v) => [`${v}:wg=64@h`, cand(v)])) };
    const { webgpuBackend } = await import('../kernels/webgpu/backend.js');
    const winner = entryWinner(entry, webgpuBackend.variants)!;
    // Tied: the simpler in WebGPU's own order (sparse before dense); CPU's list would pick by name.
    assert.equal(winner.config.variant, 'sparse-wgsl');
    db.entries[entryKey(entry.device, problem)] = { ...entry, winner };
    writeFileSync(join(dir, 'gpu.json'), snapshotText(db));
    const r = neotune('db-merge', join(dir, 'gpu.json'), join(dir, 'gpu.json'), '--out', join(dir, 'merged.json'));
    assert.equal(r.code, 0, r.err);
    const merged = await TuningStore.open(join(dir, 'merged.json'), { write: false });
    assert.equal(Object.values(merged.db.entries)[0]!.winner!.config.variant, 'sparse-wgsl');
  });
});
