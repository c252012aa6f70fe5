/** `neotune bench`: verify then time every kernel of a suite on the chosen backends, side by side. */
import type { Command } from 'commander';
import { checkOutputPath, writeOrRescue } from '../../core/files.js';
import { busyWarning } from '../../harness/load.js';
import { resultText } from '../../harness/results.js';
import { benchRun, type CommonBenchFlags, resultFile } from '../../lib/run.js';
import { DEFAULT_SUITE } from '../../suites/suite.js';
import { addCommonBenchOptions } from '../options.js';
import { action, stderrLine, withProgressBar } from '../cli-util.js';
import { failureLines, runExitCode, summaryTable } from '../tables.js';

export function registerBench(program: Command): void {
  const cmd = program.command('bench').description('verify every kernel against the float64 reference, then time it; NeoCell next to depthwise conv and copy, side by side');
  addCommonBenchOptions(cmd, { suite: DEFAULT_SUITE })
    .option('--all-params', "evaluate every point of each variant's parameter space, not just its defaults")
    .option('--verify-only', 'verify without timing')
    .option('--json <file>', 'write the versioned result file (records with raw samples) to FILE')
    .action(
      action(async (o: CommonBenchFlags & { allParams?: boolean; verifyOnly?: boolean; json?: string }) => {
        if (o.json) checkOutputPath('json', o.json);
        const { records, ceilings, load } = await withProgressBar('bench', (progress) => benchRun(o, { allParams: o.allParams, verifyOnly: o.verifyOnly }, { log: stderrLine, progress }));
        if (o.json) writeOrRescue('json', o.json, resultText(resultFile(records, ceilings, `neotune ${process.argv.slice(2).join(' ')}`, load)));
        const warning = busyWarning(load.before);
        process.stdout.write((warning ? `WARNING: ${warning}\n\n` : '') + summaryTable(records, ceilings) + '\n');
        const fails = failureLines(records);
        if (fails.length) process.stdout.write(`\n${fails.length} candidate(s) not verified:\n${fails.join('\n')}\n`);
        if (o.json) process.stdout.write(`\nresults: ${o.json}\n`);
        return runExitCode(records);
      }),
    );
}
