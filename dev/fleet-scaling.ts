/**
 * The fleet's scaling, measured (a benchmark, not a test): a redis-server on a free port, N replay
 * workers (`neotune worker --replay`: they answer from a recorded exhaustive space, sleeping what
 * tuning each candidate would take, so no kernel competes for the cores), one run of the recorded
 * problem in `slices` jobs, timed from queueing to the last merge into a database. Prints workers
 * → wall time, speedup over one worker, the ideal speedup (the work over N, or the longest job),
 * the bound of the queue's own order (each job to the first free worker, no overhead), and the
 * coordination overhead per job: N × (wall − that bound) / jobs.
 *
 *   node dist/dev/fleet-scaling.js [--workers 1,2,4,8,16] [--slices 48] [--scale 0.5] [--space FILE]
 */
import { SHIPPED_SPACE } from '../tuner/shipped-space.js';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readJsonFile } from '../core/validate.js';
import { newRunId, planJobs, ResultMerger } from '../fleet/coordinator.js';
import { replayCostMs, replayDevice } from '../fleet/execute.js';
import { recordedProblem } from '../tuner/replay.js';
import { collectRun, enqueueRun } from '../fleet/redis.js';
import { TuningStore } from '../tuner/db.js';
import { RECORDED_SPACE_SCHEMA, type RecordedSpace } from '../tuner/replay.js';
import { formatTable } from '../scripts/cli-util.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4,8,16' },
    slices: { type: 'string', default: '48' },
    scale: { type: 'string', default: '0.5' },
    space: { type: 'string', default: SHIPPED_SPACE },
  },
});
const counts = values.workers.split(',').map(Number);
const slices = Number(values.slices);
const scale = Number(values.scale);
const rec = readJsonFile<RecordedSpace>('space', values.space, RECORDED_SPACE_SCHEMA, 'a recorded space');
const problem = recordedProblem(rec);

// The work each job is: its slice's candidates' replay costs.
const jobWork = Array.from({ length: slices }, (_, j) => rec.configs.filter((_, i) => i % slices === j).reduce((a, c) => a + scale * replayCostMs(c.median_ms ?? 0), 0));
const work = jobWork.reduce((a, b) => a + b, 0);
const longest = Math.max(...jobWork);

/** Wall time of the jobs in queue order, each taken by the first free of `n` workers, with no overhead. */
function fifoBound(n: number): number {
  const free = new Array<number>(n).fill(0);
  for (const w of jobWork) {
    const i = free.indexOf(Math.min(...free));
    free[i]! += w;
  }
  return Math.max(...free);
}

const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 100));

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(here, '..', 'scripts', 'neotune.js'), 'worker', '--redis', url, '--replay', values.space, '--replay-scale', String(scale)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (/serving /.test(text)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${text}`)));
  });
}

const rows: string[][] = [];
let wall1: number | undefined;
try {
  for (const n of counts) {
    const workers = await Promise.all(Array.from({ length: n }, startWorker));
    const store = await TuningStore.open(join(mkdtempSync(join(tmpdir(), 'neotune-scaling-')), 'db.json'), { write: true });
    const run = newRunId();
    const jobs = planJobs(run, [{ name: 'replay', problem }], [{ device: replayDevice(rec), backend: 'cpu' }], { strategy: 'exhaustive', seed: 1, budget: {}, slices, timeoutMs: 3_600_000 });
    const t0 = performance.now();
    await enqueueRun(url, run, jobs, { suite: 'replay', command: 'fleet-scaling' });
    const r = await collectRun(url, run, new ResultMerger(store), { wait: true, pollMs: 50, log: (s) => process.stderr.write(`${s}\n`) });
    const wall = performance.now() - t0;
    await store.compact();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((res) => (w.exitCode !== null ? res(null) : w.on('exit', res)))));
    if (r.completed !== jobs.length) throw new Error(`${n} workers: ${r.completed} of ${jobs.length} jobs completed`);
    wall1 ??= wall;
    const ideal = Math.max(work / n, longest);
    const bound = fifoBound(n);
    rows.push([String(n), (wall / 1000).toFixed(2), `${(wall1 / wall).toFixed(2)}×`, `${(work / ideal).toFixed(2)}×`, (bound / 1000).toFixed(2), `${((100 * bound) / wall).toFixed(0)} %`, ((n * (wall - bound)) / jobs.length).toFixed(1)]);
    process.stderr.write(`${n} worker(s): ${(wall / 1000).toFixed(2)} s\n`);
  }
} finally {
  redis.kill('SIGKILL');
}
process.stdout.write(`recorded space: ${rec.configs.length} configurations of ${rec.problem}; ${slices} jobs; work ${(work / 1000).toFixed(1)} s in all (longest job ${(longest / 1000).toFixed(2)} s)\n\n`);
process.stdout.write(formatTable(['workers', 'wall s', 'speedup', 'ideal speedup', 'queue-order bound s', 'of bound', 'overhead ms/job'], rows) + '\n');
