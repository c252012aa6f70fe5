/**
 * `neotune summary`: the side-by-side table `bench` prints, for any result file, e.g. the H200
 * file where scripts/peers/torch_peers.py merged PyTorch's dense NeoCell, cuDNN's depthwise convs
 * and a tensor copy into the WebGPU records: every "vs <peer>" column is that peer's time over the
 * fastest neotune NeoCell kernel's, measured in the same call.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { summarize, trustedRatio } from '../../analysis/summary.js';
import { action, EXIT, loadResultFile } from '../cli-util.js';
import { exampleText } from '../options.js';
import { summaryTable } from '../tables.js';

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('print the side-by-side summary of a result file: fastest NeoCell kernel per problem, time / copy, and the speedup over every depthwise conv and peer')
    .argument('<results>', 'result file (neotune bench --out, results.json of neotune run, or a file with peers merged in)')
    .option('--json', 'print the rows as JSON (fastest kernel, its median, and each comparison as a time ratio)')
    .option('--wide', 'the full table: parameters, GFLOP/s, time/copy, every depthwise conv and peer, each variant')
    .addHelpText('after', exampleText([
        ['neotune summary neotune-out/results.json', 'the side-by-side table of a result file'],
        ['neotune summary results.json --wide', 'every column'],
        ['neotune summary results.json --json', 'the rows as JSON'],
      ]))
    .action(
      action(async (results: string, o: { json?: boolean; wide?: boolean }) => {
        const f = loadResultFile(resolve(results));
        if (!o.json) {
          process.stdout.write(`${summaryTable(f.records, f.ceilings, { wide: o.wide })}\n`);
          return EXIT.OK;
        }
        const rows = summarize(f.records, f.ceilings).map((r) => ({
          case: r.case,
          backend: r.backend,
          shape: r.shape,
          cell: r.label,
          kernel: r.best?.kernel ?? null,
          params: r.best?.params ?? null,
          median_ms: r.best?.median_ms ?? null,
          time_over_copy: r.xCopy ?? null,
          // A ratio from a flagged timing (unstable, impossible, software renderer) is null; withheld says why.
          speedup_vs: Object.fromEntries([...r.dwconvs, ...r.peers].map(([k, rec]) => [k, trustedRatio(rec, r.best) ?? null])),
          flags: r.best?.flags ?? [],
          withheld: r.withheld,
          failed: r.failed,
        }));
        process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
        return EXIT.OK;
      }),
    );
}
