/**
 * The README's pictures from a real run: the terminal captured during a main job (text from
 * `tmux capture-pane`, drawn as a terminal window) and the report of that run.
 *
 *   node dist/dev/readme-images.js TERMINAL.txt RESULTS.json DOCS_FOLDER
 *
 * dev/readme-images.sh runs the main job in tmux and calls this; it writes
 * DOCS_FOLDER/terminal-run.png and DOCS_FOLDER/report-example.jpg.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import { launchBrowser } from '../browser/chromium.js';
import { readResults } from '../harness/results.js';
import { escapeHtml, renderReport, reportData, reportHtml } from '../reports/report.js';

const [terminalText, resultsPath, docs] = process.argv.slice(2);
if (!terminalText || !resultsPath || !docs) {
  process.stderr.write('usage: node dist/dev/readme-images.js TERMINAL.txt RESULTS.json DOCS_FOLDER\n');
  process.exit(2);
}

const lines = readFileSync(terminalText, 'utf8').replace(/\s+$/, '').split('\n').map((l) => l.replace(/\s+$/, ''));
const page = `<!doctype html><html><head><meta charset="utf-8"><style>
 body { margin: 0; background: #fff; padding: 16px; display: inline-block; }
 .win { background: #1e2228; border-radius: 8px; box-shadow: 0 2px 10px #0004; overflow: hidden; display: inline-block; }
 .bar { background: #2d323a; height: 26px; padding-left: 12px; display: flex; align-items: center; gap: 7px; }
 .bar i { width: 11px; height: 11px; border-radius: 50%; display: inline-block; } .bar span { color: #aab2bd; font: 12px system-ui, sans-serif; margin-left: 10px; }
 pre { margin: 0; padding: 10px 14px 14px; color: #d7dde5; font: 13px/1.35 "DejaVu Sans Mono", monospace; }
</style></head><body><div class="win"><div class="bar"><i style="background:#ff5f57"></i><i style="background:#febc2e"></i><i style="background:#28c840"></i><span>neotune run (tmux, 120 columns)</span></div><pre>${escapeHtml(lines.join('\n'))}</pre></div></body></html>`;
const b = await launchBrowser({ '/index.html': ['text/html; charset=utf-8', page] });
try {
  const p = await b.browser.newPage();
  await p.setViewport({ width: 1200, height: 400, deviceScaleFactor: 1 });
  await p.goto(`${b.origin}/index.html`, { waitUntil: 'load' });
  const win = await p.$('.win');
  writeFileAtomic(join(docs, 'terminal-run.png'), Buffer.from(await win!.screenshot({ type: 'png' })));
} finally {
  await b.close();
}
const render = await renderReport(reportHtml(reportData(readResults(resultsPath))), { jpeg: join(docs, 'report-example.jpg') });
if (render.consoleErrors.length) throw new Error(`report page errors: ${render.consoleErrors.join('; ')}`);
process.stdout.write(`wrote ${join(docs, 'terminal-run.png')} and ${join(docs, 'report-example.jpg')} (${render.charts} charts)\n`);
