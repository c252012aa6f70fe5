/** `neotune report`: CSV, JSON, HTML (charts) and PNG/PDF renderings from a result file. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { reportFileNames, writeReport } from '../../reports/report.js';
import { readHistory } from '../../analysis/history.js';
import { checkOutputFiles } from '../../core/files.js';
import { action, EXIT, loadResultFile } from '../cli-util.js';
import { exampleText } from '../options.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write report.html (charts), report.csv, report.json, and PNG/PDF renderings (headless Chromium) from a result file')
    .argument('<results>', 'result file (neotune bench --out, or results.json of neotune run)')
    .option('-o, --out <dir>', 'output folder', 'neotune-out')
    .option('--no-images', 'skip the PNG/PDF renderings (no browser needed)')
    .option('--force', 'replace files of the same names in --out that neotune did not write')
    .option('--history <file>', 'add a trend chart and step-change table from a history file (neotune history append)')
    .addHelpText('after', exampleText([
        ['neotune report results.json', 'report.html, .csv, .json, .png, .pdf into neotune-out/'],
        ['neotune report results.json --no-images -o site/', 'without the browser renderings, into site/'],
        ['neotune report results.json --history neotune-history.jsonl', 'with the trend of past runs'],
      ]))
    .action(
      action(async (results: string, o: { out: string; images: boolean; history?: string; force?: boolean }) => {
        const f = loadResultFile(resolve(results));
        const history = o.history ? readHistory(resolve(o.history), 'history') : undefined;
        checkOutputFiles('out', resolve(o.out), reportFileNames(o.images), o.force);
        const { files, render } = await writeReport(f, resolve(o.out), o.images, history);
        for (const p of files) process.stdout.write(`wrote ${p}\n`);
        if (render && (render.consoleErrors.length || render.inkPerCanvas.some((n) => n === 0))) {
          process.stderr.write(`neotune: the report did not render cleanly: ${render.consoleErrors.join('; ') || 'an empty chart'}\n`);
          return EXIT.INTERNAL;
        }
        return EXIT.OK;
      }),
    );
}
