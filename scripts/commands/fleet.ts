/**
 * `neotune worker` and `neotune fleet tune|collect|status`: tuning across machines on BullMQ and
 * Redis (or in-process workers with --local-workers). The work is lib/fleet.ts's.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { readJsonFile } from '../../core/validate.js';
import { gracefulInterrupts, INTERRUPTED_EXIT } from '../../harness/interrupt.js';
import type { BackendName, Dtype } from '../../harness/types.js';
import { checkBackendSpec, checkKernelNames, checkLoad, openBackends } from '../../lib/run.js';
import { checkRedisUrl, fleetCollect, probeRedis, fleetStatus, type FleetTuneResult, fleetTuneLocal, fleetTuneRedis, ReplayExecutor, runRedisWorker, TuningExecutor, type JobExecutor } from '../../lib/fleet.js';
import { openStore, threadCap } from '../../lib/tune.js';
import { BACKEND_NAMES } from '../../kernels/registry.js';
import { resolveSuite } from '../../suites/suite.js';
import { RECORDED_SPACE_SCHEMA, type RecordedSpace } from '../../tuner/replay.js';
import { strategyByName, STRATEGY_NAMES } from '../../tuner/strategies/index.js';
import { action, commandLine, EXIT, formatTable, optionParser, parseIntOption, parseNumberOption, stderrLine } from '../cli-util.js';
import { addEffortOptions, addProblemOptions, DEFAULT_DB, type SearchFlags, addVerbosityOptions, type EffortFlags, effortSettings, examples, parseDuration, parsePin, verbosity } from '../options.js';
import { CommandProgress, withProgress } from '../progress.js';

const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
const redisOption = optionParser((v: string) => checkRedisUrl(v));

interface WorkerFlags {
  redis: string;
  backend: string;
  concurrency: number;
  stallSeconds: number;
  replay?: string;
  replayScale: number;
  includeSoftware?: boolean;
}

interface FleetTuneFlags extends EffortFlags, SearchFlags {
  redis?: string;
  localWorkers?: number;
  params?: string;
  device?: string[];
  wait?: boolean;
  slices: number;
  jobTimeout: number;
}

/** A worker's executor: the backends of this machine, or a recorded space (--replay, read before: `replay`). */
async function openExecutor(o: WorkerFlags, log: (s: string) => void, replay?: RecordedSpace): Promise<JobExecutor> {
  if (replay) return new ReplayExecutor(replay, o.replayScale);
  const load = await checkLoad(log);
  const runs = await openBackends(o.backend, log, { tuning: true });
  const executor = new TuningExecutor(runs, { ...threadCap(load, log), includeSoftware: o.includeSoftware ?? false, log });
  if (executor.devices.length === 0) {
    await executor.close();
    throw new InputError('backend', o.backend, 'a backend with a device to tune here (software renderers need --include-software)');
  }
  return executor;
}

function outcomeText(r: FleetTuneResult | (Omit<FleetTuneResult, 'run' | 'devices'> & { run: string }), db: string): string {
  const lines = [`run ${r.run}: ${r.completed} of ${r.total} jobs merged into ${db}${r.quarantined.length ? `, ${r.quarantined.length} quarantined` : ''}`];
  if (r.quarantined.length) lines.push(formatTable(['quarantined job', 'reason'], r.quarantined.map((q) => [q.job, q.reason])));
  if (r.partial.length) lines.push(`entries tuned from part of their space (a slice was quarantined): ${r.partial.length}`);
  return lines.join('\n') + '\n';
}

/** `neotune worker`: serve fleet jobs from Redis for the devices of this machine. */
export function registerWorker(program: Command): void {
  const worker = program
    .command('worker')
    .description('serve fleet jobs from Redis for the devices of this machine: each job is verified and measured exactly as `neotune tune` does, and its candidates returned')
    .option('--redis <url>', 'the Redis server of the fleet', redisOption, DEFAULT_REDIS)
    .option('-b, --backend <list>', `backends whose devices to serve: auto or ${BACKEND_NAMES.join(', ')}`, 'cpu')
    .option('--concurrency <n>', 'jobs at once (jobs of one device measure one at a time on a machine anyway)', parseIntOption('concurrency', undefined, 64), 1)
    .option('--stall-seconds <s>', 'a job whose worker stops answering (killed, crashed) is retried by another worker after this long', parseIntOption('stall-seconds', undefined, 3600), 30)
    .option('--replay <file>', 'answer jobs from a recorded exhaustive space (neotune-recorded-space) instead of running kernels: measures the fleet itself')
    .option('--replay-scale <x>', 'with --replay: each candidate takes x times what tuning it would (warm-up + measurement, from its recorded time)', parseNumberOption('replay-scale', 0, 1000), 1)
    .option('--include-software', 'serve software renderers (SwiftShader…) too');
  examples(worker, [
    ['neotune worker --redis redis://queue.lan:6379', 'serve the CPU of this machine'],
    ['neotune worker --redis redis://queue.lan:6379 -b webgpu', 'serve its GPU through Dawn'],
  ]).action(
    action(async (o: WorkerFlags) => {
      // Every option is checked before the Redis is contacted: a bad one is exit 2 naming it, not a connection error.
      checkBackendSpec(o.backend);
      const replay = o.replay ? readJsonFile<RecordedSpace>('replay', o.replay, RECORDED_SPACE_SCHEMA, 'a recorded space (neotune-recorded-space)') : undefined;
      const signal = gracefulInterrupts(stderrLine);
      process.on('SIGTERM', () => process.emit('SIGINT'));
      await probeRedis(o.redis);
      const executor = await openExecutor(o, stderrLine, replay);
      try {
        const r = await runRedisWorker(o.redis, executor, { concurrency: o.concurrency, stallMs: o.stallSeconds * 1000, signal, log: stderrLine });
        stderrLine(`neotune: worker stopped: ${r.completed} job(s) done, ${r.failed} failed`);
      } finally {
        await executor.close();
      }
    }),
  );
}

/** `neotune fleet tune | collect | status`. */
export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('tune a suite across worker machines (BullMQ on Redis), or with in-process workers');
  examples(fleet, [
    ['neotune fleet tune --local-workers 2 -s smoke', 'the job protocol on this machine, no Redis'],
    ['neotune fleet tune --redis redis://queue.lan:6379 --wait', 'tune on every connected worker\'s device'],
    ['neotune fleet status --redis redis://queue.lan:6379', 'queues, workers, runs'],
  ]);
  registerFleetTune(fleet);
  registerFleetCollect(fleet);
  registerFleetStatus(fleet);
}

/** `neotune fleet tune`: a suite as jobs per device key, queued or run by in-process workers. */
function registerFleetTune(fleet: Command): void {
  const tune = fleet.command('tune').description('tune a suite as jobs per device key: with --redis, queued for workers (with --wait, merged into the database as they arrive); without, run here by in-process workers');
  addEffortOptions(addProblemOptions(tune, { suite: 'neonext-t', backend: 'cpu' }), 'balanced')
    .option('--redis <url>', 'the Redis server of the fleet', redisOption)
    .option('--local-workers <n>', 'without --redis: the jobs run with N in-process workers on this machine (default 1)', parseIntOption('local-workers', undefined, 64))
    .option('--device <key...>', 'device keys to tune for (default: those of the workers connected now; `neotune fleet status` lists them)')
    .option('--wait', 'wait for every job and merge the results into --db as they arrive (without it: queue and print the run id for `fleet collect`)')
    .option('--slices <n>', 'jobs per problem, each tuning every n-th configuration of its space', parseIntOption('slices', undefined, 1024), 1)
    .option('--job-timeout <duration>', 'execution time a job may take once a worker starts it (time waiting in the queue does not count), e.g. 20m', parseDuration('job-timeout'), 30 * 60_000)
    .option('--strategy <name>', `search strategy: ${STRATEGY_NAMES.join(', ')}`, 'model')
    .option('-p, --params <spec>', 'pin parameter values for every kernel that has them: key=value,… or JSON')
    .option('--db <file>', 'tuning database the results are merged into (created when missing)', DEFAULT_DB);
  addVerbosityOptions(tune);
  examples(tune, [
    ['neotune fleet tune --local-workers 2 -s smoke', 'the job protocol on this machine, no Redis'],
    ['neotune fleet tune --redis redis://queue.lan:6379 -s neonext-t --wait', 'every connected worker\'s device, merged into neotune-out/tuning-db.json'],
    ['neotune fleet tune --redis redis://queue.lan:6379 -s neonext-b -n 8 --slices 4', 'queue now, collect later'],
  ]).action(
    action(async (o: FleetTuneFlags) => {
      if (o.redis !== undefined && o.localWorkers !== undefined) throw new InputError('local-workers', o.localWorkers, 'no --local-workers with --redis (the workers are the `neotune worker` processes)');
      // Without Redis the jobs run here, with in-process workers.
      if (o.redis === undefined) o.localWorkers ??= 1;
      if (o.localWorkers !== undefined && o.wait === false) throw new InputError('wait', false, '--wait (implied) with --local-workers');
      if (o.timeBudget !== undefined) throw new InputError('time-budget', o.timeBudget / 1000, '--job-timeout for a fleet (the execution time of each job); a whole run has no time budget');
      const strategy = strategyByName(o.strategy);
      const suite = resolveSuite(o.suite, { batch: o.batch, dtype: o.dtype as Dtype });
      const backends = o.backend.split(',').map((s) => s.trim());
      for (const b of backends) if (!BACKEND_NAMES.includes(b as BackendName)) throw new InputError('backend', b, BACKEND_NAMES.join(', '));
      const effort = effortSettings(o, strategy.name);
      const pin = parsePin(o.params);
      const kernels = o.kernels?.split(',').map((s) => s.trim());
      const progress = new CommandProgress('fleet', verbosity(o));
      const store = await openStore(resolve(o.db), true);
      const signal = gracefulInterrupts(progress.log);
      const common = {
        suite,
        backends: backends as BackendName[],
        ...(o.device ? { devices: o.device } : {}),
        strategy: strategy.name,
        seed: o.seed,
        budget: effort.budget,
        slices: o.slices,
        ...(kernels ? { kernels } : {}),
        ...(pin ? { pin } : {}),
        jobTimeoutMs: o.jobTimeout,
        signal,
        log: progress.log,
        progress: progress.reporter('fleet'),
      };
      let r: FleetTuneResult;
      if (o.localWorkers !== undefined) {
        const runs = await openBackends(o.backend, progress.log, { tuning: true });
        const load = await checkLoad(progress.log);
        const executor = new TuningExecutor(runs, { ...threadCap(load, progress.log), includeSoftware: o.includeSoftware ?? false, machineLock: false, log: progress.log });
        try {
          checkKernelNames(kernels, runs);
          r = await withProgress(progress, () => fleetTuneLocal(store, executor, o.localWorkers!, common));
        } finally {
          await executor.close();
        }
      } else {
        await probeRedis(o.redis!);
        r = await withProgress(progress, () => fleetTuneRedis(o.redis!, store, o.wait ?? false, { ...common, command: commandLine() }));
        if (!o.wait) {
          process.stdout.write(`run ${r.run}: ${r.total} jobs queued for ${r.devices.length} device(s)\ncollect the results with: neotune fleet collect --redis ${o.redis} --run ${r.run} --db ${o.db} --wait\n`);
          return EXIT.OK;
        }
      }
      process.stdout.write(outcomeText(r, store.path));
      if (!r.finished && o.redis) process.stdout.write(`the other jobs go on: collect them with: neotune fleet collect --redis ${o.redis} --run ${r.run} --db ${o.db} --wait\n`);
      if (signal.aborted) return INTERRUPTED_EXIT;
      return r.quarantined.length ? EXIT.KERNEL_FAILURES : EXIT.OK;
    }),
  );
}

/** `neotune fleet collect`: a queued run's results merged into the database. */
function registerFleetCollect(fleet: Command): void {
  const collect = fleet
    .command('collect')
    .description('merge the results of a queued run into the database (with --wait: as they arrive, until every job is in)')
    .option('--redis <url>', 'the Redis server of the fleet', redisOption, DEFAULT_REDIS)
    .requiredOption('--run <id>', 'the run id `fleet tune` printed')
    .option('--db <file>', 'tuning database the results are merged into', DEFAULT_DB)
    .option('--wait', 'wait until every job is in');
  addVerbosityOptions(collect);
  examples(collect, [['neotune fleet collect --redis redis://queue.lan:6379 --run r123-abc --wait', 'merge a queued run\'s results as they arrive']]).action(
    action(async (o: { redis: string; run: string; db: string; wait?: boolean; quiet?: boolean; verbose?: boolean }) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.run)) throw new InputError('run', o.run, 'a run id as `fleet tune` prints it (letters, digits, - and _)');
      const progress = new CommandProgress('fleet', verbosity(o));
      const store = await openStore(resolve(o.db), true);
      await probeRedis(o.redis);
      const signal = gracefulInterrupts(progress.log);
      const r = await withProgress(progress, () => fleetCollect(o.redis, o.run, store, o.wait ?? false, { log: progress.log, progress: progress.reporter('fleet'), signal }));
      process.stdout.write(outcomeText({ ...r, run: o.run }, store.path));
      if (!r.finished) process.stdout.write(`${r.total - r.completed - r.quarantined.length} job(s) still running: collect again later (or with --wait)\n`);
      return r.quarantined.length ? EXIT.KERNEL_FAILURES : EXIT.OK;
    }),
  );
}

/** `neotune fleet status`: queues, workers and runs. */
function registerFleetStatus(fleet: Command): void {
  const status = fleet.command('status');
  examples(status, [['neotune fleet status --redis redis://queue.lan:6379 --json', 'the fleet\'s state as JSON']]);
  status.description('queues by device key (jobs waiting, active, done, failed), workers and their last heartbeat, runs not yet collected')
    .option('--redis <url>', 'the Redis server of the fleet', redisOption, DEFAULT_REDIS)
    .option('--json', 'print JSON')
    .action(
      action(async (o: { redis: string; json?: boolean }) => {
        const s = await fleetStatus(o.redis);
        if (o.json) {
          process.stdout.write(JSON.stringify(s, null, 1) + '\n');
          return;
        }
        const out = [
          formatTable(['device', 'waiting', 'active', 'done', 'failed'], s.queues.map((q) => [q.device, String(q.waiting + q.delayed), String(q.active), String(q.completed), String(q.failed)])),
          formatTable(['worker', 'devices', 'last seen', 'job'], s.workers.map((w) => [w.name, w.devices.join('; '), `${w.seen_s} s ago`, w.job ?? '–'])),
          formatTable(['run', 'suite', 'jobs', 'state', 'queued'], s.runs.map((r) => [r.run, r.suite, String(r.jobs), r.state, r.created])),
        ];
        process.stdout.write(out.join('\n\n') + '\n');
      }),
    );
}
