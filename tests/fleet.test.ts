/**
 * The tuning fleet: the job protocol (jobs and results checked on arrival, merging idempotent),
 * in-process workers against a local tune, and a real redis-server with worker processes: a
 * worker killed mid-job loses nothing, a job that kills its workers is quarantined, bad and
 * unreachable Redis URLs are clear errors.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.js';
import { type BackendRun, openBackend } from '../kernels/registry.js';
import { backendEntry } from '../kernels/registry.js';
import { fleetTuneLocal, TuningExecutor } from '../lib/fleet.js';
import { tuneSuite } from '../lib/tune.js';
import { smokeSuite, suiteProblems } from '../suites/suite.js';
import { checkResult, newRunId, planJobs, ResultMerger } from '../fleet/coordinator.js';
import { jobProblem, parseJob, toJobProblem } from '../fleet/job.js';
import { problemKey, problemRecord } from '../harness/problem.js';
import { entryKey, type TuningDb, TuningStore } from '../tuner/db.js';
import { strategyByName } from '../tuner/strategies/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'neotune.js');
const KERNELS = ['fused-js', 'dwconv-js'];
const tmp = () => mkdtempSync(join(tmpdir(), 'neotune-fleet-'));

/** Entry keys → sorted candidate configuration keys (the structure two tunings of one space share). */
const structure = (db: TuningDb) => Object.fromEntries(Object.entries(db.entries).map(([k, e]) => [k, Object.values(e.candidates).map((c) => c.key).sort()]));

/** Every entry has a winner, and the winner is a verified candidate of the entry. */
function assertWinnersVerified(db: TuningDb): void {
  for (const [k, e] of Object.entries(db.entries)) {
    assert.ok(e.winner, `${k} has a winner`);
    assert.ok(Object.values(e.candidates).some((c) => c.key === e.winner!.key && c.state === 'verified'), `${k}: winner ${e.winner!.key} is verified`);
  }
}

describe('fleet job protocol', () => {
  it('a problem survives the trip through a job (neocell groups with shifts and down-sampling, dwconv)', () => {
    for (const c of smokeSuite().cases) for (const p of [c.neocell, c.dwconv]) assert.equal(problemKey(jobProblem(toJobProblem(p))), problemKey(p));
  });

  it('a malformed job is refused naming the field; a result for another device is not merged', () => {
    const [job] = planJobs('r1', suiteProblems(smokeSuite()), [{ device: 'cpu | test', backend: 'cpu' }], { strategy: 'random', seed: 1, budget: { evaluations: 2 }, slices: 1, timeoutMs: 1000 });
    assert.throws(() => parseJob({ ...job, problem: { ...job!.problem, N: -1 } }, 'job 1'), (e: unknown) => e instanceof InputError && /problem\.N/.test(e.message));
    assert.throws(() => parseJob({ ...job, extra: 1 }, 'job 1'), (e: unknown) => e instanceof InputError && /extra/.test(e.message));
    assert.throws(() => jobProblem({ ...job!.problem, groups: [{ channels: 32, kernel: 99 }] }), InputError);
    const entry = { device: 'cpu | other', backend: 'cpu', problem: { op: 'dwconv', N: 1, C: 32, H: 14, W: 14, dtype: 'float32', spec: 'dw7', label: 'dwconv 7×7', K: 7 }, candidates: {} };
    assert.throws(() => checkResult(job!, { v: 1, worker: 'w', entry, evaluated: 0, exec_ms: 1 }, 'result'), /device/);
    assert.throws(() => checkResult(job!, { v: 1, worker: 'w', entry: { ...entry, device: 'cpu | test', problem: { ...entry.problem, N: 'x' } }, evaluated: 0, exec_ms: 1 }, 'result'), InputError);
  });

  it("each job starts from the winners of its device's other problems in the database", () => {
    const problems = suiteProblems(smokeSuite());
    const [first] = problems;
    const record = problemRecord(first!.problem);
    const config = { variant: 'fused-js', params: { loop: 'nc', order: 'AB' } };
    const db: TuningDb = { schema: 'neotune-tuning-db', version: 2, entries: { [entryKey('cpu | test', record)]: { device: 'cpu | test', backend: 'cpu', problem: record, candidates: {}, winner: { key: 'x', config, median_ms: 1, confidence: {} } as never } } };
    const jobs = planJobs('r1', problems, [{ device: 'cpu | test', backend: 'cpu' }, { device: 'cpu | other', backend: 'cpu' }], { strategy: 'tpe', seed: 1, budget: {}, slices: 1, timeoutMs: 1000, db });
    const starts = jobs.map((j) => [j.device, j.case, j.warm_start]);
    // Other NeoCell problems of the same device start from it; its own problem, dwconv problems and the other device do not.
    assert.deepEqual(starts.filter(([, , w]) => w).map(([d, c]) => [d, c]), problems.slice(1).filter((p) => p.problem.op === 'neocell').map((p) => ['cpu | test', p.name]));
    for (const j of jobs) if (j.warm_start) assert.deepEqual(j.warm_start, [config]);
  });
});

describe('fleet with in-process workers', () => {
  let runs: BackendRun[];
  before(async () => {
    runs = [await openBackend(backendEntry('cpu'))];
  });
  after(async () => {
    for (const r of runs) await r.session.close();
  });

  it('tunes the smoke suite into the same entries and candidates as a local tune; slices add up to the whole space; a result merged twice changes nothing', async () => {
    const dir = tmp();
    const log = () => {};
    const local = await TuningStore.open(join(dir, 'local.json'), { write: true });
    await tuneSuite(local, smokeSuite(), runs, { strategy: strategyByName('exhaustive'), seed: 1, budget: {}, kernels: KERNELS, log });
    const executor = new TuningExecutor(runs, { machineLock: false });
    const common = { suite: smokeSuite(), backends: ['cpu'] as const, strategy: 'exhaustive', seed: 1, budget: {}, kernels: KERNELS, jobTimeoutMs: 600_000, log };
    const fleet = await TuningStore.open(join(dir, 'fleet.json'), { write: true });
    const r = await fleetTuneLocal(fleet, executor, 2, { ...common, slices: 1 });
    assert.deepEqual([r.completed, r.total, r.quarantined.length], [6, 6, 0]);
    const sliced = await TuningStore.open(join(dir, 'sliced.json'), { write: true });
    const s = await fleetTuneLocal(sliced, executor, 2, { ...common, slices: 3 });
    assert.equal(s.completed, 18);
    const dbs = [local, fleet, sliced].map((st) => JSON.parse(readFileSync(st.path, 'utf8')) as TuningDb);
    assert.deepEqual(structure(dbs[1]!), structure(dbs[0]!));
    assert.deepEqual(structure(dbs[2]!), structure(dbs[0]!));
    for (const db of dbs.slice(1)) assertWinnersVerified(db);
    // The same result again (a retried job's second answer): nothing changes on disk.
    const [job] = planJobs(newRunId(), suiteProblems(smokeSuite()), executor.devices.map((d) => ({ device: d.device, backend: 'cpu' as const })), { strategy: 'exhaustive', seed: 1, budget: {}, slices: 1, timeoutMs: 600_000, kernels: KERNELS });
    // Timers run during a job (a Redis worker renews its job's lock from one): ticks of a 100 ms interval.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 100);
    const started = performance.now();
    const result = JSON.parse(JSON.stringify(await executor.run(job!)));
    clearInterval(timer);
    assert.ok(ticks >= Math.floor((performance.now() - started) / 1000), `${ticks} timer ticks in a ${(performance.now() - started).toFixed(0)} ms job`);
    const again = await TuningStore.open(join(dir, 'again.json'), { write: true });
    const merger = new ResultMerger(again);
    assert.equal(await merger.merge(job!, result, 'result'), true);
    await again.compact();
    const once = readFileSync(again.path, 'utf8');
    assert.equal(await merger.merge(job!, result, 'result'), false);
    await again.compact();
    assert.equal(readFileSync(again.path, 'utf8'), once);
    // A job's time limit stops its search after the candidate in progress; what it measured comes back.
    const quick = await executor.run({ ...job!, timeout_ms: 1 });
    assert.match(quick.stopped ?? '', /^timeout/);
    assert.ok(quick.evaluated <= 1 && quick.evaluated < Object.keys(result.entry.candidates).length, `${quick.evaluated} evaluated`);
    // The default strategy, on the cost model of the shipped hubs.
    const model = await executor.run({ ...job!, strategy: 'model', budget: { evaluations: 3 } });
    assert.equal(model.entry.search?.strategy, 'model');
    assert.equal(model.evaluated, Math.min(3, model.entry.search?.space ?? 0));
  });
});

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when `child`'s stderr has printed a line matching `re`. */
function waitFor(child: ChildProcess, re: RegExp, text: { value: string }, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${text.value}`)), timeoutMs);
    const check = () => {
      if (re.test(text.value)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    check();
  });
}

describe('fleet on redis-server', () => {
  let redis: ChildProcess;
  let url: string;
  const workers: ChildProcess[] = [];
  before(async () => {
    const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
    assert.equal(which.status, 0, 'redis-server is installed (scripts/setup.sh installs it)');
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 50; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(() => {
    for (const w of workers) w.kill('SIGKILL');
    redis.kill('SIGKILL');
  });

  /** A worker process; its stderr collected in `.text`. */
  function worker(env: Record<string, string> = {}): { child: ChildProcess; text: { value: string } } {
    const child = spawn(process.execPath, [CLI, 'worker', '--redis', url, '-b', 'cpu', '--stall-seconds', '5'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const text = { value: '' };
    child.stderr!.on('data', (d: Buffer) => (text.value += d.toString()));
    workers.push(child);
    return { child, text };
  }

  function fleetTune(db: string, ...extra: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, 'fleet', 'tune', '--redis', url, '-s', 'smoke', '-b', 'cpu', '-k', KERNELS.join(','), '--strategy', 'exhaustive', '--db', db, '--wait', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => resolve({ code, out, err }));
    });
  }

  it('bad and unreachable Redis URLs are clear errors naming the URL', async () => {
    const bad = spawnSync(process.execPath, [CLI, 'fleet', 'status', '--redis', 'http://127.0.0.1:6379'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /invalid redis: "http:\/\/127\.0\.0\.1:6379".*allowed: redis:\/\/HOST/);
    const port = await freePort();
    const down = spawnSync(process.execPath, [CLI, 'worker', '--redis', `redis://127.0.0.1:${port}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(down.status, 4);
    assert.match(down.stderr, new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port} is unreachable \\(connect ECONNREFUSED`));
    assert.doesNotMatch(down.stderr, /\n\s+at /, 'no stack trace');
  });

  it('two workers tune the smoke suite; one killed mid-job loses nothing; the database has every entry of a local run, every winner verified', async () => {
    const dir = tmp();
    const a = worker();
    const b = worker();
    await Promise.all([waitFor(a.child, /serving cpu/, a.text), waitFor(b.child, /serving cpu/, b.text)]);
    assert.match(a.text.value, /no fleet run has queued jobs for this device yet/);
    const run = fleetTune(join(dir, 'fleet.json'));
    await waitFor(a.child, /started /, a.text);
    a.child.kill('SIGKILL');
    const r = await run;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /6 of 6 jobs merged/);
    const local = spawnSync(process.execPath, [CLI, 'tune', '-s', 'smoke', '-b', 'cpu', '-k', KERNELS.join(','), '--strategy', 'exhaustive', '--db', join(dir, 'local.json'), '-q'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(local.status, 0, local.stderr);
    const [fleetDb, localDb] = ['fleet.json', 'local.json'].map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as TuningDb);
    // The device key names the thread count a busy machine allowed; compare problems and candidates.
    const byProblem = (db: TuningDb) => Object.fromEntries(Object.entries(structure(db)).map(([k, v]) => [k.split(' || ')[1], v]));
    assert.deepEqual(byProblem(fleetDb!), byProblem(localDb!));
    assertWinnersVerified(fleetDb!);
    // The job the killed worker had started was run again by the other one.
    const killedJob = /started .* \(job (\S+), attempt/.exec(a.text.value)![1]!;
    assert.match(b.text.value, new RegExp(`started .* \\(job ${killedJob.replace(/[.]/g, '\\.')}, attempt`));
    const status = spawnSync(process.execPath, [CLI, 'fleet', 'status', '--redis', url, '--json'], { encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { workers: { name: string }[]; runs: unknown[] };
    assert.ok(s.workers.some((w) => w.name.endsWith(`/${b.child.pid}`)));
    assert.deepEqual(s.runs, [], 'a collected run is removed from Redis');
    b.child.kill('SIGKILL');
  });

  it('a job that kills every worker that runs it is quarantined with its reason; the run goes on', async () => {
    const dir = tmp();
    // Each crash takes a worker down: two crash (the job's two tries), the third does the rest.
    const ws = [0, 1, 2].map(() => worker({ NEOTUNE_FLEET_FAULT: 'kill:2→1 neocell' }));
    await Promise.all(ws.map((w) => waitFor(w.child, /serving cpu/, w.text)));
    const r = await fleetTune(join(dir, 'fleet.json'));
    assert.equal(r.code, 3, r.err);
    assert.match(r.out, /5 of 6 jobs merged .*1 quarantined/);
    assert.match(r.out, /2→1 neocell .*quarantined after 2 attempt\(s\): its worker stopped \(killed or crashed\) while running it/);
    const db = JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as TuningDb;
    assert.equal(Object.keys(db.entries).length, 5);
    assertWinnersVerified(db);
    for (const w of ws) w.child.kill('SIGKILL');
  });
});
