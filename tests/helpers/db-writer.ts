/**
 * A process writing into a tuning database, for the concurrency and kill tests:
 *   node db-writer.js <db> <writer id> <candidates> [compact every k]
 * records `candidates` synthetic candidates (one entry shared by every writer), compacting after
 * every k (and at the end); with candidates 0 it writes until killed, printing each count.
 */
import { neoCellProblem, problemRecord } from '../../harness/problem.js';
import { type CandidateRecord, candidateKey, type DbEntry, entryKey, TuningStore } from '../../tuner/db.js';

const [path, id, count, every] = process.argv.slice(2);
const n = Number(count);
const k = Number(every ?? 0);
const store = await TuningStore.open(path!, { write: true });
const problem = problemRecord(neoCellProblem({ N: 1, C: 4, H: 8, W: 8, spec: '3' }));
const device = 'test device';
const entry: DbEntry = (store.db.entries[entryKey(device, problem)] ??= { device, backend: 'cpu', problem, candidates: {} });
for (let i = 0; n === 0 || i < n; i++) {
  const samples = Array.from({ length: 400 }, (_, j) => 1 + i / 100 + j / 1e4);
  const c: CandidateRecord = { key: `sparse-js:writer=${id},i=${i}`, config: { variant: 'sparse-js', params: { writer: String(id), i } }, source_hash: 'h', state: 'verified', median_ms: 1 + i / 100, samples_ms: samples };
  await store.recordCandidate(entry, candidateKey(c.key, c.source_hash), c);
  if (n === 0) process.stdout.write(`${i + 1}\n`);
  if (k > 0 && (i + 1) % k === 0) await store.compact();
}
await store.compact();
