/** Options several commands share (bench, run). */
import type { Command } from 'commander';
import { DTYPES } from '../harness/problem.js';
import { BACKEND_NAMES } from '../kernels/registry.js';
import { SUITE_NAMES } from '../suites/suite.js';
import { MAX_TIME_MS, parseIntOption } from './cli-util.js';

export function addCommonBenchOptions(cmd: Command, defaults: { suite: string }): Command {
  return cmd
    .option('-b, --backend <list>', `backends, comma-separated: auto or ${BACKEND_NAMES.join(', ')}`, 'auto')
    .option('-s, --suite <name>', `suite: ${SUITE_NAMES.join(', ')} (neonext-<model>[@<res>][-stages])`, defaults.suite)
    .option('-n, --batch <n>', 'batch size N', parseIntOption('batch', undefined, 4096), 1)
    .option('--dtype <type>', `element type of every problem: ${DTYPES.join(', ')} (kernels that do not compute it are recorded as rejected, with the reason)`, 'float32')
    .option('-k, --kernels <list>', 'only these kernel names (comma-separated)')
    .option('-p, --params <spec>', 'pin parameter values for every kernel that has them: key=value,… or JSON (bypasses defaults and tuning)')
    .option('-t, --time <ms>', 'measurement time per candidate, ms', parseIntOption('time', `an integer number of milliseconds from 1 to ${MAX_TIME_MS}`, MAX_TIME_MS), 300)
    .option('--seed <n>', 'seed of the random problem data', parseIntOption('seed', undefined, 2 ** 32 - 1, 0), 1)
    .option('--include-software', 'treat software renderers (SwiftShader, llvmpipe…) as devices to tune and compare; by default they are verified, not tuned, and their times are flagged as not GPU performance');
}
