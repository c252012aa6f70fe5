/**
 * Ctrl-C during long commands: the first SIGINT stops bench and tune after the measurement in
 * progress; what was measured is kept (the result file written and marked interrupted, the tuning
 * database folded and valid), the message says how to resume, and the exit status is 130.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readResults } from '../harness/results.js';
import { TuningStore } from '../tuner/db.js';

const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');

/** Runs neotune, sends SIGINT once `ready(stderr)` holds, and resolves with its exit status and output. */
function interrupted(args: string[], ready: (stderr: string) => boolean): Promise<{ code: number | null; err: string; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    let sent = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit within 120 s; stderr: ${err.slice(-500)}`));
    }, 120_000);
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      if (!sent && ready(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, err, out });
    });
  });
}

describe('Ctrl-C keeps what was measured', () => {
  it('tune: the database holds the candidates measured, the message says how to resume, exit 130', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'neotune-int-')), 'db.json');
    // --verbose: a progress line per candidate, so the signal arrives mid-search.
    const r = await interrupted(['tune', '-b', 'cpu', '-s', 'smoke', '--strategy', 'exhaustive', '--db', db, '--verbose'], (e) => /candidate [3-9]\/\d+/.test(e));
    assert.equal(r.code, 130, r.err.slice(-800));
    assert.match(r.err, /stopped by Ctrl-C; every candidate measured is in .*db\.json: run the same command again to resume/);
    const store = await TuningStore.open(db, { write: false });
    const candidates = Object.values(store.db.entries).flatMap((e) => Object.values(e.candidates));
    assert.ok(candidates.length >= 3, `${candidates.length} candidates kept`);
    assert.ok(!existsSync(`${db}.journal`), 'the journal was folded into the snapshot');
  });

  it('bench: the result file is written, marked interrupted, with the records measured; exit 130', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'neotune-int-')), 'r.json');
    const r = await interrupted(['bench', '-b', 'cpu', '-s', 'smoke', '--time', '50', '--out', out, '--verbose'], (e) => /bench [4-9]\/\d+/.test(e));
    assert.equal(r.code, 130, r.err.slice(-800));
    assert.match(r.err, /stopped by Ctrl-C after \d+ measurements; they are in .*r\.json \(marked "interrupted"\)/);
    const f = readResults(out);
    assert.equal(f.interrupted, true);
    assert.ok(f.records.length >= 4, `${f.records.length} records`);
    assert.ok(f.records.length < 33, 'stopped before the end');
  });
});
