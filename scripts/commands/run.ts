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
import { checkOutputFolder, checkOutputPath, writeFileAtomic } from '../../core/files.js';
import { writeResults } from '../../harness/results.js';
import { summarize, summarizeVariants } from '../../harness/summary.js';
import { InputError } from '../../core/errors.js';
import type { BackendRun } from '../../harness/bench.js';
import { problemKey } from '../../harness/problem.js';
import type { KernelVariant, Params, Problem } from '../../harness/types.js';
import type { Suite } from '../../suites/suite.js';
import { STRATEGY_NAMES, strategyByName } from '../../tuner/strategies/index.js';
import { bestPerVariant } from '../../tuner/tune.js';
import { openStore, threadCap, tuneSuite } from '../../lib/tune.js';
import { busyWarning, type MachineLoad } from '../../harness/load.js';
import { action, EXIT, markdownTable, parseNumberOption, stderrLine, withProgressBar } from '../cli-util.js';
import { writeReport } from '../../reports/report.js';
import { benchRun, type CommonBenchFlags, resultFile } from '../../lib/run.js';
import { ceilingLines, failureLines, runExitCode, summaryCells, summaryTable, withheldLines } from '../tables.js';
import { addCommonBenchOptions } from '../options.js';

export const MAIN_SUITE = 'neonext-t';

export function registerRun(program: Command): void {
  const cmd = program.command('run').description('the main job: tune every problem of the default suite on every backend this machine has, then measure each variant\'s best side by side with depthwise conv and copy; writes the tuning database, results and a summary');
  addCommonBenchOptions(cmd, { suite: MAIN_SUITE })
    .option('-o, --out <dir>', 'output folder', 'neotune-out')
    .option('--strategy <name>', `search strategy: ${STRATEGY_NAMES.join(', ')}`, 'tpe')
    .option('--budget-fraction <percent>', 'evaluations per problem, % of its pruned space', parseNumberOption('budget-fraction', 0, 100, { unit: 'percent, more than 0' }), 25)
    .action(
      action(async (o: CommonBenchFlags & { out: string; strategy: string; budgetFraction: number }) => {
        const strategy = strategyByName(o.strategy);
        if (!(o.budgetFraction > 0 && o.budgetFraction <= 100)) throw new InputError('budget-fraction', o.budgetFraction, 'a percentage in (0, 100]');
        const out = resolve(o.out);
        // Every output is checked before an hour of tuning, not after.
        checkOutputFolder('out', out);
        for (const f of ['results.json', 'summary.md', 'tuning-db.json', 'report.html', 'report.csv', 'report.json']) checkOutputPath('out', join(out, f));
        const dbPath = join(out, 'tuning-db.json');
        const tune = async (suite: Suite, runs: BackendRun[], load: MachineLoad) => {
          const store = await openStore(dbPath, true, 'out');
          const finalists = new Map<string, Map<string, Params>>(); // backend + problem key → variant → params
          const tuned = await withProgressBar('tune', (progress) =>
            tuneSuite(store, suite, runs, {
              strategy,
              seed: o.seed,
              budget: strategy.name === 'exhaustive' ? {} : { fraction: o.budgetFraction / 100 },
              kernels: o.kernels?.split(',').map((s) => s.trim()),
              ...threadCap(load, stderrLine),
              includeSoftware: o.includeSoftware ?? false,
              log: stderrLine,
              progress,
            }),
          );
          for (const { run, problem, result } of tuned) {
            finalists.set(`${run.entry.name} ${problemKey(problem)}`, new Map([...bestPerVariant(result)].map(([v, cfg]) => [v, cfg.params])));
          }
          // Report each variant's best tuned point; variants the search never reached run with defaults.
          return {
            paramsFor: (_c: unknown, v: KernelVariant, problem: Problem) => {
              const f = finalists.get(`${v.backend} ${problemKey(problem)}`);
              const params = f?.get(v.name);
              return params ? [params] : undefined;
            },
          };
        };
        const { suite, runs, records, ceilings, load } = await withProgressBar('report', (progress) => benchRun(o, {}, { log: stderrLine, prepare: tune, progress }));
        const json = join(out, 'results.json');
        const results = resultFile(records, ceilings, `neotune run ${process.argv.slice(3).join(' ')}`.trim(), load);
        const warning = busyWarning(load.before);
        writeResults(json, results);
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
          `Backends: ${runs.map((r) => `${r.entry.name} (${r.session.device.description})`).join(', ')}. Each problem was tuned (strategy ${strategy.name}, ${o.budgetFraction} % of its space; database ${dbPath}); the tables measure each variant's best configuration again, side by side in this run.`,
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
        writeFileAtomic(join(out, 'summary.md'), md);
        process.stdout.write((warning ? `WARNING: ${warning}\n\n` : '') + summaryTable(records, ceilings) + '\n');
        const fails = failureLines(records);
        if (fails.length) process.stdout.write(`\n${fails.length} candidate(s) not verified:\n${fails.join('\n')}\n`);
        process.stdout.write(`\nwrote ${dbPath}\nwrote ${json}\nwrote ${join(out, 'summary.md')}\n${report.files.map((f) => `wrote ${f}`).join('\n')}\n`);
        if (report.render && (report.render.consoleErrors.length || report.render.inkPerCanvas.some((n) => n === 0))) {
          process.stderr.write(`neotune: the report did not render cleanly: ${report.render.consoleErrors.join('; ') || 'an empty chart'}\n`);
          return EXIT.INTERNAL;
        }
        return runExitCode(records);
      }),
    );
}
