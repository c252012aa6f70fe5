#!/usr/bin/env node
/** neotune: kernel autotuner and benchmark suite for the NeoCell operator. */
import { Command } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerCompare } from './commands/compare.js';
import { registerDevices } from './commands/devices.js';
import { registerFleet, registerWorker } from './commands/fleet.js';
import { registerFlops } from './commands/flops.js';
import { registerKernels } from './commands/kernels.js';
import { registerPage } from './commands/page.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerSummary } from './commands/summary.js';
import { registerHub, registerReplay } from './commands/hub.js';
import { registerDbMerge, registerExport, registerSelect, registerTune } from './commands/tune.js';
import { guardTerminalOutput, refuseEmptyValues } from './cli-util.js';

// Text from inputs (case names, device keys, result files) never reaches the terminal as control sequences.
guardTerminalOutput();

const program = new Command();
program
  .name('neotune')
  .description('Kernel autotuner and benchmark suite for the NeoCell operator (NeoNeXt, arXiv 2403.11251)')
  .version('0.1.0')
  // One line pointing at the help, not the whole help after every usage error.
  .showHelpAfterError('(neotune <command> --help lists its options)')
  .addHelpText(
    'after',
    `
Exit codes: 0 success; 1 internal error; 2 invalid input (the message names the field and the
allowed values); 3 finished, but some kernels failed verification or crashed (results written);
4 a backend that was asked for is unavailable; 5 compare/history found a regression; 6 compare
had nothing to compare (no matched record, an empty file, or only unstable timings); 130 stopped
by Ctrl-C (bench, tune, run: what was measured is kept, and the message says how to resume).`,
  )
  .hook('preAction', (_program, command) => refuseEmptyValues(command))
  .exitOverride((err) => {
    // `--json FILE` wrote a file in earlier versions of bench and compare: say what to use now.
    const json = process.argv.indexOf('--json');
    const value = json > 0 ? process.argv[json + 1] : undefined;
    if (err.code === 'commander.excessArguments' && value && !value.startsWith('-')) process.stderr.write(`(--json prints to stdout; write a file with --out ${value})\n`);
    // commander's own usage errors (unknown option, missing argument) are invalid input: exit 2.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

registerRun(program);
registerBench(program);
registerTune(program);
registerSelect(program);
registerExport(program);
registerReplay(program);
registerHub(program);
registerDbMerge(program);
registerCompare(program);
registerReport(program);
registerSummary(program);
registerFlops(program);
registerDevices(program);
registerKernels(program);
registerWorker(program);
registerFleet(program);
registerPage(program);

await program.parseAsync(process.argv);
