/**
 * Tuning-database benchmark: what a save costs as the database grows, what a fold costs, and how
 * many candidates concurrent `neotune tune` processes lose in one database.
 *
 *   node dist/dev/db-bench.js [--sizes 0,1000,10000] [--writers 2,4]
 *
 * Writers tune disjoint kernel sets of the smoke suite (exhaustively), so every candidate any of
 * them measured must be in the database at the end: lost = measured − stored.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { neoCellProblem, problemRecord } from '../harness/problem.js';
import { quantile } from '../harness/stats.js';
import { type CandidateRecord, candidateKey, type DbEntry, emptyDb, entryKey, snapshotText, TuningStore } from '../tuner/db.js';
import { writeFileAtomic } from '../core/files.js';
import { formatTable, fmt } from '../scripts/cli-util.js';

const run = promisify(execFile);
const { values } = parseArgs({ options: { sizes: { type: 'string', default: '0,1000,10000' }, writers: { type: 'string', default: '2,4' } } });
const CLI = join(import.meta.dirname, '..', 'scripts', 'neotune.js');
const problem = problemRecord(neoCellProblem({ N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 }));

function candidate(i: number): CandidateRecord {
  const samples = Array.from({ length: 2000 }, (_, j) => 0.3 + i * 1e-4 + Math.sin(j) * 1e-3);
  return { key: `fused-wasm:i=${i}`, config: { variant: 'fused-wasm', params: { i } }, source_hash: 'h', state: 'verified', median_ms: 0.3 + i * 1e-4, samples_ms: samples };
}

async function saveCost(size: number) {
  const path = join(mkdtempSync(join(tmpdir(), 'neotune-dbbench-')), 'db.json');
  const db = emptyDb();
  const entry: DbEntry = { device: 'bench', backend: 'cpu', problem, candidates: {} };
  db.entries[entryKey(entry.device, problem)] = entry;
  for (let i = 0; i < size; i++) {
    const c = candidate(i);
    entry.candidates[candidateKey(c.key, c.source_hash)] = { ...c, samples_ms: c.samples_ms!.slice(0, 256) };
  }
  writeFileAtomic(path, snapshotText(db));
  const store = await TuningStore.open(path, { write: true });
  const e = store.db.entries[entryKey('bench', problem)]!;
  const times: number[] = [];
  for (let i = size; i < size + 100; i++) {
    const c = candidate(i);
    const t0 = performance.now();
    await store.recordCandidate(e, candidateKey(c.key, c.source_hash), c);
    times.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await store.compact();
  return { size, save_ms: quantile(times, 0.5), save_p90_ms: quantile(times, 0.9), fold_ms: performance.now() - t0, bytes: statSync(path).size };
}

const KERNEL_SETS = ['sparse-js', 'fused-js', 'dense-js', 'winograd-js'];

async function concurrent(writers: number) {
  const db = join(mkdtempSync(join(tmpdir(), 'neotune-dbbench-')), 'db.json');
  const outs = await Promise.all(
    KERNEL_SETS.slice(0, writers).map((k) => run(process.execPath, [CLI, 'tune', '--backend', 'cpu', '--suite', 'smoke', '--strategy', 'exhaustive', '--kernels', k, '--db', db, '--json'], { maxBuffer: 1 << 26 })),
  );
  const measured = outs.map((o) => (JSON.parse(o.stdout) as { evaluated: number }[]).reduce((s, r) => s + r.evaluated, 0)).reduce((a, b) => a + b, 0);
  const store = await TuningStore.open(db, { write: false });
  const stored = Object.values(store.db.entries).reduce((s, e) => s + Object.keys(e.candidates).length, 0);
  return { writers, measured, stored, lost: measured - stored };
}

const sizes = values.sizes!.split(',').map(Number);
const costs = [];
for (const s of sizes) costs.push(await saveCost(s));
process.stdout.write(
  formatTable(
    ['candidates in the database', 'save median ms', 'save p90 ms', 'fold ms', 'snapshot MB'],
    costs.map((c) => [String(c.size), fmt(c.save_ms, 2), fmt(c.save_p90_ms, 2), fmt(c.fold_ms, 0), fmt(c.bytes / 1e6, 2)]),
  ) + '\n\n',
);
const conc = [];
for (const w of values.writers!.split(',').map(Number)) conc.push(await concurrent(w));
process.stdout.write(formatTable(['concurrent tune processes', 'candidates measured', 'stored', 'lost'], conc.map((c) => [String(c.writers), String(c.measured), String(c.stored), String(c.lost)])) + '\n');
