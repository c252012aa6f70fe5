/**
 * `neotune run`: the main job (README command 1). With no flags: the default suite on every
 * backend this machine has, each variant's whole parameter space verified and timed, the fastest
 * verified kernel per problem and backend reported next to depthwise conv and copy.
 * Writes results.json (versioned records) and summary.md to the output folder.
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../core/files.js';
import { writeResults } from '../../harness/results.js';
import { summarize, summarizeVariants } from '../../harness/summary.js';
import { action, fmt, markdownTable } from '../cli-util.js';
import { addCommonBenchOptions, benchRun, type CommonBenchFlags, failureLines, resultFile, runExitCode, summaryCells, summaryTable } from './bench.js';

export const MAIN_SUITE = 'neonext-t';

export function registerRun(program: Command): void {
  const cmd = program.command('run').description('the main job: every backend this machine has, the default suite, every parameter point verified and timed; writes results and a summary');
  addCommonBenchOptions(cmd, { suite: MAIN_SUITE })
    .option('-o, --out <dir>', 'output folder', 'neotune-out')
    .action(
      action(async (o: CommonBenchFlags & { out: string }) => {
        const { suite, runs, records, ceilings } = await benchRun(o, { allParams: true }, 'run');
        const out = resolve(o.out);
        const json = join(out, 'results.json');
        writeResults(json, resultFile(records, ceilings, `neotune run ${process.argv.slice(3).join(' ')}`.trim()));
        const best = summaryCells(summarize(records, ceilings), true);
        const variants = summaryCells(summarizeVariants(records, ceilings), false);
        const md = [
          `# neotune run: ${suite.description}`,
          '',
          `Backends: ${runs.map((r) => `${r.entry.name} (${r.session.device.description})`).join(', ')}. Ratios are measured side by side in this run.`,
          '',
          '## Fastest NeoCell kernel per problem',
          '',
          markdownTable(best.header, best.cells),
          '',
          '## Each NeoCell variant at its fastest parameter point',
          '',
          markdownTable(variants.header, variants.cells),
          '',
          ...ceilings.map((c) => `- ceiling ${c.backend} ${c.name} ${JSON.stringify(c.params)}: ${fmt(c.gflops, 1)} GFLOP/s (${c.method})`),
          '',
        ].join('\n');
        writeFileAtomic(join(out, 'summary.md'), md);
        process.stdout.write(summaryTable(records, ceilings) + '\n');
        const fails = failureLines(records);
        if (fails.length) process.stdout.write(`\n${fails.length} candidate(s) not verified:\n${fails.join('\n')}\n`);
        process.stdout.write(`\nwrote ${json}\nwrote ${join(out, 'summary.md')}\n`);
        return runExitCode(records);
      }),
    );
}
