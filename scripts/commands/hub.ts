/** `neotune hub record` (the hub of exhaustive spaces) and `neotune replay` (strategy quality without running kernels). */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { checkOutputPath } from '../../core/files.js';
import { readJsonFile } from '../../core/validate.js';
import { gracefulInterrupts, INTERRUPTED_EXIT } from '../../harness/interrupt.js';
import { recordHub, retimeHubSuspects } from '../../lib/hub.js';
import { checkLoad, openBackends } from '../../lib/run.js';
import { openStore } from '../../lib/tune.js';
import { resolveSuite } from '../../suites/suite.js';
import { hubSpaces, hubSuspects } from '../../tuner/hub.js';
import { REGRET_BUDGET, SCORE_BUDGET, scoreHub } from '../../tuner/hub-score.js';
import { configKey } from '../../tuner/space.js';
import { TIE_MARGIN } from '../../tuner/winner.js';
import { RECORDED_SPACE_SCHEMA, type RecordedSpace, recordedSearchSpace, strategyQuality } from '../../tuner/replay.js';
import { readHub, replayTrainingHubs, SHIPPED_HUB, SHIPPED_SPACE } from '../../tuner/shipped-space.js';
import { STRATEGIES, STRATEGY_NAMES, strategyByName } from '../../tuner/strategies/index.js';
import { action, commandLine, EXIT, fmt, formatTable, parseIntOption, parseNumberOption, UsageError } from '../cli-util.js';
import { addVerbosityOptions, exampleText, verbosity } from '../options.js';
import { CommandProgress, withProgress } from '../progress.js';

/** `neotune hub record`: exhaustive spaces of the hub's problems on this device, leaders re-timed side by side. */
export function registerHub(program: Command): void {
  const hub = program.command('hub').description('the hub of exhaustive spaces: the cost model\'s prior and the ground strategies are scored on');
  addVerbosityOptions(
    hub
      .command('record')
      .description('tune every problem of a suite exhaustively on one backend of this machine, re-time each problem\'s leaders side by side, and the times the rest of a space contradicts (hub check), and write the problems into a hub file (resumable: candidates go through a tuning database)')
      .option('-b, --backend <name>', 'backend', 'cpu')
      .option('-s, --suite <name>', 'problems to record (the hub suite: NeoNeXt-T, batch 8, T@384, B and sweep shapes)', 'hub')
      .option('-o, --out <file>', 'hub file to write (problems of an earlier recording on the same device are kept)', 'neotune-out/hub.json')
      .option('--db <file>', 'tuning database the candidates go through (an interrupted recording resumes from it)', 'neotune-out/hub-db.json'),
  )
    .addHelpText('after', exampleText([
        ['neotune hub record', 'every hub problem on the CPU (about 40 minutes on 2 cores) into neotune-out/hub.json'],
        ['neotune hub record -b webgpu -o data/hub/webgpu-h200.json', 'the same for a GPU'],
      ]))
    .action(
      action(async (o: { backend: string; suite: string; out: string; db: string; quiet?: boolean; verbose?: boolean }) => {
        checkOutputPath('out', o.out);
        if (existsSync(resolve(o.out))) readHub(resolve(o.out), 'out'); // a file that is not a hub is never replaced
        const suite = resolveSuite(o.suite);
        const progress = new CommandProgress('tune', verbosity(o));
        const store = await openStore(resolve(o.db), true);
        await checkLoad(progress.log);
        const runs = await openBackends(o.backend, progress.log, { tuning: true });
        if (runs.length !== 1) throw new InputError('backend', o.backend, 'one backend: cpu, webgpu, webgpu-browser, gpujs, gpujs-browser');
        const signal = gracefulInterrupts(progress.log);
        try {
          const written = await withProgress(progress, () => recordHub(store, suite, runs[0]!, { out: resolve(o.out), command: commandLine(), signal, log: progress.log, progress: progress.reporter('tune') }));
          process.stdout.write(`${o.out}: ${written.problems.length} problems, ${written.configs.length} distinct configurations, ${written.device.fingerprint}\n`);
        } finally {
          await runs[0]!.session.close();
        }
        return signal.aborted ? INTERRUPTED_EXIT : EXIT.OK;
      }),
    );
  registerHubCheck(hub);
}

/** `neotune hub check`: the suspects of a hub (recorded times the rest of their space contradicts), and with --retime, those re-timed side by side. */
function registerHubCheck(hub: Command): void {
  addVerbosityOptions(
    hub
      .command('check')
      .description('list the configurations of a hub whose recorded time the rest of their problem\'s space contradicts (a multi-threaded one no faster than its 1-thread twin where the others run well in parallel, a relaxed multiply-add slower than the plain one); with --retime, re-time them side by side with their problem\'s fastest configuration on this device and write the hub')
      .argument('[file]', `hub file (default: the hub shipped with neotune, ${SHIPPED_HUB.replace(/.*\/data\//, 'data/')})`)
      .option('--retime', 're-time the suspects on this machine (the hub must have been recorded on this device)')
      .option('-o, --out <file>', 'with --retime: hub file to write (default: the file checked)')
      .option('--json', 'print the suspects as JSON'),
  )
    .addHelpText('after', exampleText([
        ['neotune hub check', 'the suspects of the shipped CPU hub'],
        ['neotune hub check my-hub.json --retime', 'and re-time them on the device that recorded it (the shipped hub\'s 310: 15 minutes on 2 cores)'],
      ]))
    .action(
      action(async (file: string | undefined, o: { retime?: boolean; out?: string; json?: boolean; quiet?: boolean; verbose?: boolean }) => {
        if (o.out !== undefined && !o.retime) throw new UsageError('--out writes a re-timed hub: use it with --retime');
        const path = file === undefined ? SHIPPED_HUB : resolve(file);
        const before = readHub(path, 'file');
        const spaces = hubSpaces(before, 'file'); // indices checked before any backend opens
        if (!o.retime) {
          // With --retime, retimeHubSuspects finds the suspects itself, pass by pass.
          const rows = hubSuspects(before, spaces).map((x) => ({ problem: before.problems[x.problem]!.name, config: configKey(before.configs[x.config]!), recorded_over_best: Number((spaces[x.problem]!.truth.get(configKey(before.configs[x.config]!))! / spaces[x.problem]!.best).toFixed(3)), reason: x.reason }));
          if (o.json) process.stdout.write(JSON.stringify({ hub: file ?? SHIPPED_HUB, suspects: rows }, null, 1) + '\n');
          else
            process.stdout.write(
              (rows.length ? formatTable(['problem', 'configuration', 'recorded / best', 'why suspect'], rows.map((r) => [r.problem, r.config, fmt(r.recorded_over_best, 3), r.reason])) + '\n' : '') +
                `${file ?? SHIPPED_HUB}: ${rows.length} suspects in ${new Set(rows.map((r) => r.problem)).size} of ${before.problems.length} problems${rows.length ? ' (neotune hub check --retime re-times them on the device the hub was recorded on)' : ''}\n`,
            );
          return EXIT.OK;
        }
        const out = o.out === undefined ? path : resolve(o.out);
        checkOutputPath(o.out === undefined ? 'file' : 'out', out);
        if (o.out !== undefined && existsSync(out)) readHub(out, 'out'); // a file that is not a hub is never replaced
        const progress = new CommandProgress('tune', verbosity(o));
        await checkLoad(progress.log);
        const runs = await openBackends(before.device.backend, progress.log, { tuning: true });
        const signal = gracefulInterrupts(progress.log);
        try {
          const r = await withProgress(progress, () => retimeHubSuspects(before, runs[0]!, { out, command: commandLine(), signal, log: progress.log, progress: progress.reporter('tune') }, 'file'));
          process.stdout.write(`${o.out ?? file ?? SHIPPED_HUB}: ${r.retimed} of ${r.suspects} suspects re-timed side by side\n`);
        } finally {
          await runs[0]!.session.close();
        }
        return signal.aborted ? INTERRUPTED_EXIT : EXIT.OK;
      }),
    );
}

/** `neotune replay`: strategy quality against a recorded exhaustive run, or leave-one-problem-out on the hub. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('strategy quality without running kernels: every strategy against a recorded exhaustive run (--space), or leave-one-problem-out on the hub of exhaustive spaces (--hub)')
    .option('--space <file>', 'recorded space (scripts/record-space.ts writes one; default: the recording shipped with neotune)')
    .option('--hub [file]', `score strategies on a hub, leave one problem out (default file: the hub shipped with neotune, ${SHIPPED_HUB.replace(/.*\/data\//, 'data/')})`)
    .option('--with <files>', "with --hub: hubs of other devices the model also learns from (comma-separated; default with the shipped hub: the other shipped hubs, as tune's model learns from all of them; 'none': this hub alone)")
    .option('--transfer', 'with --hub and --with: the model learns from the --with hubs only (the held-out problem included: it was measured on those devices), nothing of this one')
    .option('--strategies <list>', `with --hub: strategies to score (${STRATEGY_NAMES.join(', ')})`, 'random,annealing,tpe,model')
    .option('--seeds <n>', 'seeds per strategy', parseIntOption('seeds', undefined, 10_000), 20)
    .option('--max-evaluations <n>', 'with --hub: evaluations per search at most', parseIntOption('max-evaluations', undefined, 100_000), 60)
    .option('--tolerance <percent>', 'how close to the exhaustive best counts as found, %', parseNumberOption('tolerance', 0, 100, { unit: 'percent' }), 5)
    .option('--noise <percent>', "with --hub: each measurement reads its recorded time with this timing noise (relative σ, %; drawn per seed), as repeated tunes on a shared machine differ; adds how often two seeds' winners agree", parseNumberOption('noise', 0, 100, { unit: 'percent' }), 0)
    .option('-v, --verbose', 'with --hub: a row per problem and strategy')
    .option('--json', 'print JSON')
    .addHelpText('after', exampleText([
        ['neotune replay', 'strategies against the recorded exhaustive run shipped with neotune'],
        ['neotune replay --hub', 'every strategy leave-one-problem-out on the shipped hub'],
        ['neotune replay --hub --strategies model --seeds 5 --noise 5', 'how often 5 tunes with 5 % timing noise keep the same winner'],
        ['neotune replay --space my-space.json --seeds 100', 'against your own recording (scripts/record-space.ts)'],
      ]))
    .action(
      action(async (o: { space?: string; hub?: string | true; with?: string; transfer?: boolean; strategies: string; seeds: number; maxEvaluations: number; tolerance: number; noise: number; verbose?: boolean; json?: boolean }) => {
        if (o.hub !== undefined) {
          if (o.space) throw new UsageError('--space and --hub: one or the other');
          const hub = readHub(o.hub === true ? SHIPPED_HUB : resolve(o.hub));
          const withFiles = replayTrainingHubs(o.hub === true, o.with);
          const others = withFiles.map((f) => readHub(f, 'with'));
          if (withFiles.length) process.stderr.write(`neotune: replay --hub: the model also learns from ${withFiles.map((f) => relative(process.cwd(), f) || f).join(', ')}${o.with === undefined ? " (the other shipped hubs, as tune's does; --with none: this hub alone)" : ''}\n`);
          if (o.transfer && others.length === 0) throw new InputError('transfer', true, '--transfer with --with FILE[,FILE…]: the hubs of the devices to transfer from');
          const strategies = o.strategies.split(',').map((s) => strategyByName(s.trim()));
          const r = await scoreHub(hub, { strategies, seeds: o.seeds, maxEvaluations: o.maxEvaluations, others, transfer: o.transfer ?? false, noise: o.noise / 100, progress: (d, t) => process.stderr.write(`\rneotune: replay --hub: ${d}/${t} problems held out`) });
          process.stderr.write('\n');
          if (o.json) {
            process.stdout.write(JSON.stringify(r, (_, v) => (v === Infinity ? null : v), 1) + '\n');
            return;
          }
          const ev = (v: number) => (Number.isFinite(v) ? fmt(v, 0) : `>${o.maxEvaluations}`);
          const noisy = o.noise > 0 && o.seeds > 1;
          const pct = (v: number | undefined) => (v === undefined ? '–' : `${fmt(100 * v, 0)} %`);
          if (o.verbose)
            process.stdout.write(
              formatTable(
                ['strategy', 'held-out problem', 'space', 'to 5 %', 'to 2 %', 'score', 'regret', 'zero-eval', ...(noisy ? ['agree'] : [])],
                r.problems.map((p) => [p.strategy, p.problem, String(p.space), ev(p.to5), ev(p.to2), fmt(p.score, 3), fmt(p.regret, 3), p.zero !== undefined ? fmt(p.zero, 3) : '–', ...(noisy ? [pct(p.agreement)] : [])]),
              ) + '\n\n',
            );
          process.stdout.write(
            `${hub.device.description}: ${hub.problems.length} problems, each held out in turn (${o.seeds} seeds; evaluations until a configuration within 5 % / 2 % of the best was measured; score: Kernel Tuner's, over the first ${SCORE_BUDGET}; regret of the winner chosen after ${REGRET_BUDGET}${noisy ? `; ${o.noise} % timing noise: pairs of seeds whose winners after ${o.maxEvaluations} are the same or tied within ${fmt(100 * TIE_MARGIN, 0)} %` : ''})\n` +
              formatTable(
                ['strategy', 'to 5 %: median', 'p90', '≤ 10', 'to 2 %: median', 'p90', 'score', 'regret: median', 'p90', 'zero-eval: median', '≤ 1.10', ...(noisy ? ['same or tied'] : [])],
                r.summary.map((s) => [
                  s.strategy,
                  ev(s.to5.median),
                  ev(s.to5.p90),
                  `${fmt(100 * s.to5.within10, 0)} %`,
                  ev(s.to2.median),
                  ev(s.to2.p90),
                  fmt(s.score, 3),
                  fmt(s.regret.median, 3),
                  fmt(s.regret.p90, 3),
                  s.zero ? fmt(s.zero.median, 3) : '–',
                  s.zero ? `${fmt(100 * s.zero.within10, 0)} %` : '–',
                  ...(noisy ? [pct(s.agreement)] : []),
                ]),
              ) +
              '\n',
          );
          return;
        }
        const path = o.space ? resolve(o.space) : SHIPPED_SPACE;
        const rec = readJsonFile<RecordedSpace>('space', path, RECORDED_SPACE_SCHEMA, 'a recorded space written by scripts/record-space.ts');
        if (!rec.configs.some((c) => c.median_ms !== null)) throw new InputError('space', o.space ?? path, 'a recorded space with at least one timed configuration');
        // The strategies see the recorded problem, as they would tuning it.
        const { space, times } = recordedSearchSpace(rec);
        const rows = [];
        for (const st of STRATEGIES) rows.push(await strategyQuality(st, space, times, o.seeds, o.tolerance / 100));
        if (o.json) process.stdout.write(JSON.stringify({ space: rec.problem, configurations: space.configs.length, rows }, null, 1) + '\n');
        else
          process.stdout.write(
            `${rec.problem}: ${space.configs.length} configurations, ${o.seeds} seeds, within ${o.tolerance} % of the exhaustive best\n` +
              formatTable(
                ['strategy', 'median evaluations', '% of space', 'p90 evaluations'],
                rows.map((r) => [r.strategy, fmt(r.medianEvaluations, 0), `${fmt(100 * r.medianFraction, 1)} %`, fmt(r.p90Evaluations, 0)]),
              ) +
              '\n',
          );
      }),
    );
}
