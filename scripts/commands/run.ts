/**
 * `neotune run`: the main job (README command 1). With no flags: the default suite on every
 * backend this machine has; each problem is tuned (TPE over the pruned joint space, a quarter of
 * it, into the output folder's tuning database: a second run resumes and reuses it), then each
 * variant's best configuration is measured again side by side with the depthwise convs (their
 * tuned best) and the copy, and reported. Writes tuning-db.json, results.json, summary.md and the
 * report (report.html with charts, .csv, .json, .png, .pdf).
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { checkOutputFiles, checkOutputPath, recordOutputFiles, writeFileAtomic } from '../../core/files.js';
import { writeResults } from '../../harness/results.js';
import { summarize, summarizeVariants } from '../../analysis/summary.js';
import { STRATEGY_NAMES, strategyByName } from '../../tuner/strategies/index.js';
import { runMainJob } from '../../lib/main-job.js';
import { busyWarning } from '../../harness/load.js';
import { action, commandLine, EXIT, markdownTable, wrapText } from '../cli-util.js';
import { gracefulInterrupts, INTERRUPTED_EXIT } from '../../harness/interrupt.js';
import { CommandProgress, tuneHooks, withProgress } from '../progress.js';
import { reportFileNames, writeReport } from '../../reports/report.js';
import { resultFile } from '../../lib/run.js';
import { ceilingLines, failureLines, runExitCode, summaryCells, summaryTable, withheldLines } from '../tables.js';
import { addEffortOptions, addMeasureOptions, addProblemOptions, addVerbosityOptions, type BenchFlags, benchRequest, budgetText, type EffortFlags, effortSettings, examples, verbosity } from '../options.js';

export const MAIN_SUITE = 'neonext-t';

type RunFlags = BenchFlags & EffortFlags & { out: string; strategy: string; wide?: boolean; quiet?: boolean; verbose?: boolean; force?: boolean };

/** The files a run replaces in --out (its tuning-db.json is resumed, not replaced). */
const RUN_FILES = ['results.json', 'summary.md', ...reportFileNames()];

export function registerRun(program: Command): void {
  const cmd = program.command('run').description("the main job: tune every problem of the default suite on every backend this machine has, then measure each variant's best side by side with depthwise conv and copy; writes the tuning database, results, a summary and the report");
  addEffortOptions(addMeasureOptions(addProblemOptions(cmd, { suite: MAIN_SUITE })), 'quick')
    .option('--strategy <name>', `search strategy: ${STRATEGY_NAMES.join(', ')} (model: ranks configurations by the cost model learned from the shipped hub and the database)`, 'model')
    .option('-o, --out <dir>', 'output folder', 'neotune-out')
    .option('--force', 'replace files of the same names in --out that neotune did not write')
    .option('--wide', 'the full table on stdout (parameters, GFLOP/s, time/copy, every depthwise conv and peer)');
  addVerbosityOptions(cmd);
  examples(cmd, [
    ['neotune run', 'the main job: NeoNeXt-T, every backend here, quick effort'],
    ['neotune run --effort balanced', 'search more (at most 10 minutes)'],
    ['neotune run -b webgpu --effort full -o gpu-out', 'every configuration on the GPU, into gpu-out/'],
    ['neotune run -b cpu --time-budget 2m -p threads=1', 'two minutes, single-threaded kernels only'],
  ]).action(
    action(async (o: RunFlags) => {
      const strategy = strategyByName(o.strategy);
      const effort = effortSettings(o, strategy.name);
      const started = performance.now();
      const out = resolve(o.out);
      // Every output is checked before an hour of tuning, not after.
      checkOutputFiles('out', out, RUN_FILES, o.force);
      checkOutputPath('out', join(out, 'tuning-db.json'));
      const dbPath = join(out, 'tuning-db.json');
      const progress = new CommandProgress('run', verbosity(o), { tune: 0.75, measure: 0.25 });
      const signal = gracefulInterrupts(progress.log);
      const { suite, runs, records, ceilings, load } = await withProgress(progress, () =>
        runMainJob(benchRequest({ ...o, time: effort.timeMs }), {
          strategy,
          budget: effort.budget,
          ...(effort.timeBudgetMs !== undefined ? { timeBudgetMs: effort.timeBudgetMs } : {}),
          started,
          dbPath,
          signal,
          log: progress.log,
          tuneHooks: (load) => tuneHooks(progress, signal, load, o.includeSoftware),
          measureProgress: progress.reporter('measure'),
        }),
      );
      if (signal.aborted && records.length === 0) {
        progress.log(`neotune: stopped by Ctrl-C while tuning; every candidate measured is in ${dbPath}: run the same command again to resume (stored candidates are reused)`);
        return INTERRUPTED_EXIT;
      }
      const json = join(out, 'results.json');
      const results = resultFile(records, ceilings, commandLine(), {
        load,
        interrupted: signal.aborted,
        suite,
        tuning: { strategy: strategy.name, effort: o.effort, budget: budgetText(effort.budget), database: dbPath },
      });
      const warning = busyWarning(load.before);
      writeResults(json, results, { followLink: false });
      const report = await writeReport(results, out);
      const bestRows = summarize(records, ceilings);
      const best = summaryCells(bestRows, true);
      const variantRows = summarizeVariants(records, ceilings);
      const variants = summaryCells(variantRows, false);
      const withheld = withheldLines([...bestRows, ...variantRows]);
      const md = [
        `# neotune run: ${suite.description}`,
        '',
        ...(warning ? [`> **Warning**: ${warning}.`, ''] : []),
        `Backends: ${runs.map((r) => `${r.entry.name} (${r.session.device.description})`).join(', ')}. Each problem was tuned (strategy ${strategy.name}, effort ${o.effort}: ${budgetText(effort.budget)}; database ${dbPath}); the tables measure each variant's best configuration again, side by side in this run.`,
        '',
        '## Fastest NeoCell kernel per problem',
        '',
        markdownTable(best.header, best.cells),
        '',
        '## Each NeoCell variant at its fastest parameter point',
        '',
        markdownTable(variants.header, variants.cells),
        '',
        ...(withheld.length ? ['## Withheld figures', '', '"?": not printed; "!": a time that cannot be used as a result.', '', ...withheld.map((w) => `- ${w}`), ''] : []),
        '## Ceilings measured in this run',
        '',
        ...ceilingLines(ceilings).map((c) => `- ${c}`),
        '',
      ].join('\n');
      writeFileAtomic(join(out, 'summary.md'), md, { followLink: false });
      recordOutputFiles(out, ['results.json', 'summary.md']);
      process.stdout.write((warning ? `${wrapText(`WARNING: ${warning}`)}\n\n` : '') + summaryTable(records, ceilings, { wide: o.wide }) + '\n');
      const fails = failureLines(records);
      if (fails.length) process.stdout.write(`\n${fails.length} candidate(s) not verified:\n${fails.join('\n')}\n`);
      process.stdout.write(`\nwrote ${dbPath}\nwrote ${json}\nwrote ${join(out, 'summary.md')}\n${report.files.map((f) => `wrote ${f}`).join('\n')}\n`);
      if (signal.aborted) {
        progress.log(`neotune: stopped by Ctrl-C after ${records.length} measurements (results.json is marked "interrupted"); run the same command again to resume: the tuning database keeps every candidate`);
        return INTERRUPTED_EXIT;
      }
      if (report.render && (report.render.consoleErrors.length || report.render.inkPerCanvas.some((n) => n === 0))) {
        process.stderr.write(`neotune: the report did not render cleanly: ${report.render.consoleErrors.join('; ') || 'an empty chart'}\n`);
        return EXIT.INTERNAL;
      }
      return runExitCode(records);

    }),
  );
}
