/** `neotune bench`: verify then time every kernel of a suite on the chosen backends, side by side. */
import type { Command } from 'commander';
import { checkOutputPath, writeOrRescue } from '../../core/files.js';
import { gracefulInterrupts, INTERRUPTED_EXIT } from '../../harness/interrupt.js';
import { busyWarning } from '../../harness/load.js';
import { resultText } from '../../harness/results.js';
import { benchRun, resultFile } from '../../lib/run.js';
import { DEFAULT_SUITE } from '../../suites/suite.js';
import { addMeasureOptions, addProblemOptions, addVerbosityOptions, type BenchFlags, benchRequest, examples, verbosity } from '../options.js';
import { action, commandLine, wrapText } from '../cli-util.js';
import { CommandProgress, withProgress } from '../progress.js';
import { failureLines, runExitCode, summaryTable } from '../tables.js';

export function registerBench(program: Command): void {
  const cmd = program.command('bench').description('verify every kernel against the float64 reference, then time it; NeoCell next to depthwise conv and copy, side by side');
  addMeasureOptions(addProblemOptions(cmd, { suite: DEFAULT_SUITE }), 300)
    .option('--all-params', "evaluate every point of each variant's parameter space, not just its defaults")
    .option('--verify-only', 'verify without timing')
    .option('--no-ceilings', 'skip measuring the ceilings (compute peak, copy bandwidth): no % of peak or roofline (compare --run uses it)')
    .option('-o, --out <file>', 'write the versioned result file (records with raw samples) to FILE (- for stdout)')
    .option('--json', 'print the result file on stdout instead of the table')
    .option('--wide', 'the full table: parameters, GFLOP/s, time/copy, every depthwise conv and peer, each variant');
  addVerbosityOptions(cmd);
  examples(cmd, [
    ['neotune bench', 'NeoNeXt-T stages on every backend here, default parameters'],
    ['neotune bench -b cpu -s smoke -o results.json', 'small suite on the CPU, result file for compare/report'],
    ['neotune bench -b webgpu -k fused-wgsl --all-params', 'every parameter point of one WebGPU kernel'],
    ['neotune bench --verify-only', 'correctness only, no timing'],
  ]).action(
    action(async (o: BenchFlags & { allParams?: boolean; verifyOnly?: boolean; out?: string; json?: boolean; wide?: boolean; quiet?: boolean; verbose?: boolean }) => {
      if (o.out && o.out !== '-') checkOutputPath('out', o.out);
      const progress = new CommandProgress('bench', verbosity(o));
      const signal = gracefulInterrupts(progress.log);
      const { records, ceilings, load, suite } = await withProgress(progress, () =>
        benchRun(benchRequest(o), { allParams: o.allParams, verifyOnly: o.verifyOnly, signal }, { log: progress.log, progress: progress.reporter('bench') }),
      );
      const file = resultFile(records, ceilings, commandLine(), { load, interrupted: signal.aborted, suite });
      const toStdout = o.json || o.out === '-';
      if (o.out && o.out !== '-') writeOrRescue('out', o.out, resultText(file));
      if (toStdout) process.stdout.write(resultText(file));
      else {
        const warning = busyWarning(load.before);
        process.stdout.write((warning ? `${wrapText(`WARNING: ${warning}`)}\n\n` : '') + summaryTable(records, ceilings, { wide: o.wide }) + '\n');
        const fails = failureLines(records);
        if (fails.length) process.stdout.write(`\n${fails.length} candidate(s) not verified:\n${fails.join('\n')}\n`);
        if (o.out) process.stdout.write(`\nresults: ${o.out}\n`);
      }
      if (signal.aborted) {
        progress.log(`neotune: stopped by Ctrl-C after ${records.length} measurements${o.out && o.out !== '-' ? `; they are in ${o.out} (marked "interrupted")` : ''}; run the command again for the rest`);
        return INTERRUPTED_EXIT;
      }
      return runExitCode(records);
    }),
  );
}
