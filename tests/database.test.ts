/**
 * The tuning database: journal and compaction, kills, concurrent writers, validation of every
 * file on load (with the field), versions and migration, merge.
 */
import { singleThreadCpuSession } from './helpers/cpu-session.js';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { InputError } from '../core/errors.js';
import { neoCellProblem, problemRecord } from '../harness/problem.js';
import type { BackendSession } from '../harness/types.js';
import { cpuBackend } from '../kernels/cpu/backend.js';
import { DB_SAMPLES, DB_SCHEMA, DB_VERSION, emptyDb, entryKey, mergeDbs, snapshotText, storedSamples, type TuningDb, TuningStore } from '../tuner/db.js';
import { STRATEGIES } from '../tuner/strategies/index.js';
import { entryWinner, type TuneRecorder, tuneProblem } from '../tuner/tune.js';

const run = promisify(execFile);
const session: BackendSession = singleThreadCpuSession();
const tmp = () => mkdtempSync(join(tmpdir(), 'neotune-db-'));
const WRITER = join(import.meta.dirname, 'helpers', 'db-writer.js');
const small = neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '3', shift: 1 });
const jsOnly = cpuBackend.variants.filter((v) => v.name === 'sparse-js' || v.name === 'fused-js');
const quick = { timeMs: 5, minSamples: 5, warmupMs: 2 };

const candidatesIn = (db: TuningDb) => Object.values(db.entries).flatMap((e) => Object.keys(e.candidates));

describe('tuning database: journal and compaction', () => {
  it('a killed run resumes where it stopped, with no lost candidate', async () => {
    const path = join(tmp(), 'db.json');
    const store = await TuningStore.open(path, { write: true });
    let n = 0;
    // A kill after 3 candidates: the 4th record throws out of the tuner.
    const dying: TuneRecorder = {
      recordCandidate: async (e, k, c) => {
        if (++n > 3) throw new Error('killed');
        await store.recordCandidate(e, k, c);
      },
      recordWinner: (e) => store.recordWinner(e),
    };
    await assert.rejects(tuneProblem(store.db, small, jsOnly, session, { strategy: STRATEGIES[0]!, budget: {}, seed: 1, measure: quick, recorder: dying }), /killed/);
    assert.ok(!existsSync(path) && existsSync(`${path}.journal`), 'only the journal was written');
    const again = await TuningStore.open(path, { write: true });
    const stored = candidatesIn(again.db);
    assert.equal(stored.length, 3);
    const r = await tuneProblem(again.db, small, jsOnly, session, { strategy: STRATEGIES[0]!, budget: {}, seed: 1, measure: quick, recorder: again });
    assert.equal(r.reused, 3);
    assert.equal(r.evaluated, r.space.configs.length - 3);
    await again.compact();
    assert.ok(!existsSync(`${path}.journal`), 'compaction folds the journal into the snapshot');
    const final = await TuningStore.open(path, { write: false });
    const entry = Object.values(final.db.entries)[0]!;
    assert.equal(Object.keys(entry.candidates).length, r.space.configs.length);
    for (const k of stored) assert.ok(k in entry.candidates);
    assert.ok(entry.winner && Object.values(entry.candidates).find((c) => c.key === entry.winner!.key)!.state === 'verified');
  });

  it('a process killed with SIGKILL while writing loses at most its candidate in flight', async () => {
    const path = join(tmp(), 'db.json');
    const child = spawn(process.execPath, [WRITER, path, 'k', '0']);
    let written = 0;
    await new Promise<void>((ok) => {
      child.stdout.on('data', (d: Buffer) => {
        written = Math.max(written, ...String(d).trim().split('\n').map(Number));
        if (written >= 20) child.kill('SIGKILL');
      });
      child.on('exit', () => ok());
    });
    // A half-written line, as a kill in the middle of a write leaves it.
    appendFileSync(`${path}.journal`, '{"op":"candidate","entry":"x');
    const store = await TuningStore.open(path, { write: true });
    assert.ok(candidatesIn(store.db).length >= written, `${candidatesIn(store.db).length} of ${written} acknowledged candidates`);
    // The next writer cuts the unfinished line off before appending.
    const e = Object.values(store.db.entries)[0]!;
    const c = Object.values(e.candidates)[0]!;
    await store.recordCandidate(e, `${c.key}-again@h`, { ...c, key: `${c.key}-again` });
    const lines = readFileSync(`${path}.journal`, 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.every((l) => JSON.parse(l)), 'every journal line is whole');
  });

  it('saves are appends: constant cost, compact samples, a deterministic snapshot', async () => {
    const path = join(tmp(), 'db.json');
    await run(process.execPath, [WRITER, path, 'a', '60']);
    const db = (await TuningStore.open(path, { write: false })).db;
    const cands = Object.values(Object.values(db.entries)[0]!.candidates);
    assert.equal(cands.length, 60);
    for (const c of cands) assert.ok(c.samples_ms!.length <= DB_SAMPLES);
    // 60 candidates of 400 samples each: well under 2 KB of samples per candidate.
    assert.ok(statSync(path).size < 60 * 4096, `${statSync(path).size} bytes`);
    assert.equal(readFileSync(path, 'utf8'), snapshotText(db));
    const q = storedSamples(Array.from({ length: 1000 }, (_, i) => 1000 - i));
    assert.equal(q.length, DB_SAMPLES);
    assert.deepEqual([q[0], q.at(-1)], [1, 1000]);
  });
});

describe('tuning database: concurrent writers', () => {
  for (const writers of [2, 4]) {
    it(`${writers} processes writing into one database lose nothing`, async () => {
      const path = join(tmp(), 'db.json');
      await Promise.all(Array.from({ length: writers }, (_, i) => run(process.execPath, [WRITER, path, String(i), '25', '7'])));
      const db = (await TuningStore.open(path, { write: false })).db;
      assert.equal(candidatesIn(db).length, writers * 25);
      assert.ok(!existsSync(`${path}.journal`) || readFileSync(`${path}.journal`, 'utf8') === '');
    });
  }

  it('a database held by another process names the holder', async () => {
    const dir = tmp();
    const path = join(dir, 'db.json');
    // A lock refreshed by a live process that never lets go.
    const lockfile = (await import('proper-lockfile')).default;
    writeFileSync(`${path}.lock-owner`, JSON.stringify({ pid: 4242, host: 'elsewhere', command: 'neotune tune', since: '2026-01-01T00:00:00Z' }));
    const release = await lockfile.lock(path, { realpath: false, lockfilePath: `${path}.lock`, stale: 60_000, update: 5_000 });
    try {
      const child = run(process.execPath, ['--input-type=module', '-e', `process.env.NEOTUNE_LOCK_WAIT_MS='500'; const { TuningStore } = await import(${JSON.stringify(join(import.meta.dirname, '..', 'tuner', 'db.js'))}); await TuningStore.open(${JSON.stringify(path)}, { write: true });`]);
      await assert.rejects(child, (e: { stderr: string }) => /locked for more than/.test(e.stderr) && /process 4242 on elsewhere \(neotune tune/.test(e.stderr));
    } finally {
      await release();
    }
  });
});

describe('tuning database: validation on load', () => {
  const valid = (): TuningDb => {
    const db = emptyDb();
    const problem = problemRecord(small);
    db.entries[entryKey('dev', problem)] = {
      device: 'dev',
      backend: 'cpu',
      problem,
      candidates: { 'k@h': { key: 'k', config: { variant: 'sparse-js', params: { order: 'AB' } }, source_hash: 'h', state: 'verified', median_ms: 1, samples_ms: [1, 1.1] } },
    };
    return db;
  };
  const e0 = () => Object.values(valid().entries)[0]!;
  const cases: [string, unknown, RegExp][] = [
    ['entries is a list', { schema: DB_SCHEMA, version: DB_VERSION, entries: [] }, /: entries: \[\] .*must be object/],
    ['a null entry', { schema: DB_SCHEMA, version: DB_VERSION, entries: { x: null } }, /entries\.x: null/],
    ['samples that are strings', { ...valid(), entries: { [entryKey('dev', problemRecord(small))]: { ...e0(), candidates: { 'k@h': { ...e0().candidates['k@h']!, samples_ms: ['1'] } } } } }, /candidates\["k@h"\]\.samples_ms\[0\]/],
    ['a missing field', { ...valid(), entries: { [entryKey('dev', problemRecord(small))]: { ...e0(), problem: { ...e0().problem, C: undefined } } } }, /problem\.C.*required/],
    ['a verified candidate without timing', { ...valid(), entries: { [entryKey('dev', problemRecord(small))]: { ...e0(), candidates: { 'k@h': { key: 'k', config: { variant: 'v', params: {} }, source_hash: 'h', state: 'verified' } } } } }, /median_ms.*required/],
    ['a winner that is no candidate', { ...valid(), entries: { [entryKey('dev', problemRecord(small))]: { ...e0(), winner: { key: 'zz', config: { variant: 'v', params: {} }, median_ms: 1, confidence: { fastest: 'zz', tied: [], p_value: 1, ratio_ci: [1, 1], p_vs_next: null } } } } }, /winner\.key: "zz"/],
    ['an entry under another key', { ...valid(), entries: { other: e0() } }, /entries\["other"\]/],
    ['an unknown version', { schema: DB_SCHEMA, version: 0, entries: {} }, /version: 0 .*allowed: one of 1, 2/],
    ['a newer version', { schema: DB_SCHEMA, version: 99, entries: {} }, /version: 99 \(written by a newer neotune/],
  ];
  for (const [what, data, pattern] of cases) {
    it(`${what}: reported with the field, nothing replaced`, async () => {
      const dir = tmp();
      const path = join(dir, 'db.json');
      const text = JSON.stringify(data);
      writeFileSync(path, text);
      await assert.rejects(TuningStore.open(path, { write: false }), (e: Error) => e instanceof InputError && e.message.includes(path) && pattern.test(e.message));
      assert.deepEqual(readdirSync(dir), ['db.json'], 'a read-only command keeps no copy');
      await assert.rejects(TuningStore.open(path, { write: true }), /a copy is kept at .*nothing was changed/);
      await assert.rejects(TuningStore.open(path, { write: true }), /a copy is kept at/);
      assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1, 'one copy per distinct content');
      assert.equal(readFileSync(path, 'utf8'), text);
    });
  }

  it('random byte flips in a snapshot and in a journal are all detected (or change nothing)', async () => {
    const dir = tmp();
    const path = join(dir, 'db.json');
    await run(process.execPath, [WRITER, path, 'a', '30']);
    const snapshot = readFileSync(path);
    const reference = (await TuningStore.open(path, { write: false })).db;
    // The same candidates as a journal, with no snapshot.
    const journalDir = tmp();
    const jpath = join(journalDir, 'db.json');
    const child = spawn(process.execPath, [WRITER, jpath, 'j', '0']);
    await new Promise<void>((ok) => {
      child.stdout.on('data', (d: Buffer) => {
        if (/^30$/m.test(String(d))) child.kill('SIGKILL');
      });
      child.on('exit', () => ok());
    });
    const journal = readFileSync(`${jpath}.journal`);
    const journalRef = (await TuningStore.open(jpath, { write: false })).db;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [file, bytes, ref] of [[path, snapshot, reference], [`${jpath}.journal`, journal, journalRef]] as const) {
      let detected = 0;
      let harmless = 0;
      for (let i = 0; i < 25; i++) {
        const flipped = Buffer.from(bytes);
        const at = Math.floor(rand() * (flipped.length - 1));
        flipped[at] = flipped[at]! ^ (1 + Math.floor(rand() * 255));
        writeFileSync(file, flipped);
        try {
          const db = (await TuningStore.open(file === path ? path : jpath, { write: false })).db;
          assert.equal(snapshotText(db), snapshotText(ref), `flip at byte ${at} of ${file} gave other data`);
          harmless++;
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          detected++;
        }
      }
      assert.equal(detected + harmless, 25);
      assert.ok(detected >= 24, `${detected} of 25 flips detected in ${file}`);
      writeFileSync(file, bytes);
    }
  });

  it('a corrupt journal line is reported with its line number', async () => {
    const path = join(tmp(), 'db.json');
    writeFileSync(`${path}.journal`, '{"op":"candidate"}\n');
    await assert.rejects(TuningStore.open(path, { write: false }), /db\.json\.journal:1: entry.*required/);
  });

  it('a version 1 database is migrated (samples thinned) and written as version 2 on the next save', async () => {
    const path = join(tmp(), 'db.json');
    const v1 = valid() as unknown as { version: number; entries: TuningDb['entries'] };
    v1.version = 1;
    const e = Object.values(v1.entries)[0]!;
    e.candidates['k@h'] = { ...e.candidates['k@h']!, samples_ms: Array.from({ length: 3000 }, (_, i) => 1 + i * 1.234567e-5) };
    writeFileSync(path, JSON.stringify(v1, null, 1));
    const store = await TuningStore.open(path, { write: true });
    assert.equal(Object.values(store.db.entries)[0]!.candidates['k@h']!.samples_ms!.length, DB_SAMPLES);
    await store.recordWinner({ ...Object.values(store.db.entries)[0]!, search: { strategy: 's', seed: 1, evaluations: 1, space: 1, pruned: 0 } });
    await store.compact();
    assert.match(readFileSync(path, 'utf8'), /"version":2/);
  });
});

describe('tuning database: merge', () => {
  it('two databases merge deterministically (either order), keeping every candidate', async () => {
    const a = emptyDb();
    const b = emptyDb();
    await tuneProblem(a, small, jsOnly.slice(0, 1), session, { strategy: STRATEGIES[0]!, budget: {}, seed: 1, measure: quick });
    await tuneProblem(b, small, jsOnly, session, { strategy: STRATEGIES[1]!, budget: { evaluations: 3 }, seed: 2, measure: quick });
    const rewin = (e: Parameters<typeof entryWinner>[0]) => entryWinner(e, cpuBackend.variants);
    const ab = mergeDbs(a, b, rewin);
    const ba = mergeDbs(b, a, rewin);
    assert.equal(snapshotText(ab), snapshotText(ba));
    assert.deepEqual(new Set(candidatesIn(ab)), new Set([...candidatesIn(a), ...candidatesIn(b)]));
  });

  it('an entry from one database keeps its winner (re-validated side by side when tuned); one in both gets a winner chosen over the union', async () => {
    const a = emptyDb();
    const b = emptyDb();
    await tuneProblem(a, small, jsOnly, session, { strategy: STRATEGIES[0]!, budget: { evaluations: 3 }, seed: 3, measure: quick });
    await tuneProblem(b, small, jsOnly, session, { strategy: STRATEGIES[1]!, budget: { evaluations: 3 }, seed: 4, measure: quick });
    const rewin = (e: Parameters<typeof entryWinner>[0]) => entryWinner(e, cpuBackend.variants);
    const [key] = Object.keys(a.entries);
    // A marker no recomputation gives: the side-by-side median the tuner stored.
    a.entries[key!]!.winner = { ...a.entries[key!]!.winner!, median_ms: 123.5 };
    assert.equal(mergeDbs(a, emptyDb(), rewin).entries[key!]!.winner!.median_ms, 123.5);
    assert.notEqual(mergeDbs(a, b, rewin).entries[key!]!.winner!.median_ms, 123.5);
    // A winner that is not one of the entry's verified candidates is not kept.
    a.entries[key!]!.winner = { ...a.entries[key!]!.winner!, key: 'no-such-kernel x=1' };
    const w = mergeDbs(a, emptyDb(), rewin).entries[key!]!.winner!;
    assert.ok(Object.values(a.entries[key!]!.candidates).some((c) => c.key === w.key && c.state === 'verified'), w.key);
  });
});
