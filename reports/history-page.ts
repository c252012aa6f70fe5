/**
 * `neotune history page`: one chart per record over the runs of a history file (time per run with
 * its interval, as asv and Bencher draw them), step changes marked where the new level starts, and
 * the exact lane's operation counts with the runs where they changed. history.html is
 * self-contained (Chart.js inlined); history.png is its rendering by headless Chromium.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { detectSteps, type HistoryLine, operationSteps } from '../analysis/history.js';
import { recordOutputFiles, writeFileAtomic } from '../core/files.js';
import { chartJs, escapeHtml, renderReport, type RenderResult, scriptJson } from './report.js';

export interface HistoryPageData {
  readonly labels: readonly string[];
  readonly records: readonly {
    readonly key: string;
    readonly medians: readonly (number | null)[];
    readonly lo: readonly (number | null)[];
    readonly hi: readonly (number | null)[];
    /** Runs (indexes) where a step change starts, with its size. */
    readonly steps: readonly { readonly index: number; readonly ratio: number }[];
    readonly operationSteps: readonly { readonly index: number; readonly text: string }[];
    /** The latest run's operations, by class (zero classes left out). */
    readonly operations?: Readonly<Record<string, number>>;
  }[];
}

export function historyPageData(history: readonly HistoryLine[], threshold = 0.05): HistoryPageData {
  const keys = [...new Set(history.flatMap((h) => [...Object.keys(h.medians), ...Object.keys(h.operations ?? {})]))].sort();
  const steps = detectSteps(history, threshold);
  const opSteps = operationSteps(history);
  return {
    labels: history.map((h) => h.label),
    records: keys.map((key) => {
      const latest = [...history].reverse().find((h) => h.operations?.[key])?.operations?.[key];
      return {
        key,
        medians: history.map((h) => h.medians[key] ?? null),
        lo: history.map((h) => h.intervals?.[key]?.[0] ?? null),
        hi: history.map((h) => h.intervals?.[key]?.[1] ?? null),
        steps: steps.filter((s) => s.key === key).map((s) => ({ index: s.index, ratio: s.ratio })),
        operationSteps: opSteps
          .filter((s) => s.key === key)
          .map((s) => ({ index: s.index, text: s.changes.map((c) => `${c.op} ${c.before}→${c.after} (${c.after >= c.before ? '+' : ''}${(((c.after - c.before) / Math.max(1, c.before)) * 100).toFixed(1)} %)`).join(', ') })),
        ...(latest ? { operations: Object.fromEntries(Object.entries(latest).filter(([, v]) => v !== 0)) } : {}),
      };
    }),
  };
}

export function historyHtml(d: HistoryPageData): string {
  const cards = d.records
    .map((r, i) => {
      const changes = [
        ...r.steps.map((s) => `<li>time: a step of ${s.ratio >= 1 ? '+' : ''}${((s.ratio - 1) * 100).toFixed(1)} % starting at run ${s.index + 1} (${escapeHtml(d.labels[s.index] ?? '')})</li>`),
        ...r.operationSteps.map((s) => `<li>operations at run ${s.index + 1} (${escapeHtml(d.labels[s.index] ?? '')}): ${escapeHtml(s.text)}</li>`),
      ].join('');
      const ops = r.operations ? Object.entries(r.operations).map(([k, v]) => `${escapeHtml(k)} ${v.toLocaleString('en-US')}`).join(' · ') : '';
      return `<section class="card"><h3>${escapeHtml(r.key)}</h3><div class="chart"><canvas id="c${i}"></canvas></div>${changes ? `<ul>${changes}</ul>` : '<p class="quiet">no step change</p>'}${ops ? `<p class="ops">operations per call (latest run): ${ops}</p>` : ''}</section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>neotune history</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h3{font-size:13px;margin:0 0 6px;word-break:break-all}.card{border:1px solid #ddd;border-radius:6px;padding:10px;margin:10px 0}.chart{height:180px}.quiet{color:#888;margin:4px 0}.ops{color:#555;font-size:12px}ul{margin:4px 0;padding-left:18px}</style>
<script>${chartJs()}</script></head><body>
<h1>Time per run, ${d.records.length} records over ${d.labels.length} runs</h1>
<p>Each chart: the median per run (line) and its interval (band); a dashed red line marks the run where a step change of the time starts, a dotted purple one a change of the executed operations (exact: any change is one).</p>
${cards}
<script>
const D = ${scriptJson(d)};
window.__chartsExpected = D.records.length; window.__chartsDone = 0;
const stepLines = { id: 'steps', afterDatasetsDraw(chart, _a, opts) {
  const { ctx, chartArea, scales } = chart;
  const mark = (runs, color, dash) => { for (const s of runs || []) { const x = scales.x.getPixelForValue(s); ctx.save(); ctx.strokeStyle = color; ctx.setLineDash(dash); ctx.beginPath(); ctx.moveTo(x, chartArea.top); ctx.lineTo(x, chartArea.bottom); ctx.stroke(); ctx.restore(); } };
  mark(opts.time, '#d62728', [5, 4]);
  mark(opts.operations, '#9467bd', [2, 3]);
} };
D.records.forEach((r, i) => {
  new Chart(document.getElementById('c' + i), {
    type: 'line',
    data: { labels: D.labels, datasets: [
      { label: 'interval', data: r.hi, borderWidth: 0, pointRadius: 0, backgroundColor: 'rgba(31,119,180,0.18)', fill: '+1', spanGaps: true },
      { label: 'interval low', data: r.lo, borderWidth: 0, pointRadius: 0, fill: false, spanGaps: true },
      { label: 'median ms', data: r.medians, borderColor: '#1f77b4', backgroundColor: '#1f77b4', pointRadius: 2, spanGaps: true },
    ] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false }, steps: { time: r.steps.map((s) => s.index), operations: r.operationSteps.map((s) => s.index) } }, scales: { y: { title: { display: true, text: 'ms' } } } },
    plugins: [stepLines],
  });
  window.__chartsDone++;
});
</script></body></html>
`;
}

export const HISTORY_PAGE_FILES = ['history.html', 'history.png'] as const;

/** Writes history.html and history.png into `dir` (files neotune names itself: never through a link) and checks every chart drew. */
export async function writeHistoryPage(history: readonly HistoryLine[], dir: string, threshold = 0.05): Promise<{ files: string[]; render: RenderResult }> {
  mkdirSync(dir, { recursive: true });
  const html = historyHtml(historyPageData(history, threshold));
  const page = join(dir, 'history.html');
  writeFileAtomic(page, html, { followLink: false });
  const render = await renderReport(html, { png: join(dir, 'history.png'), own: true });
  recordOutputFiles(dir, HISTORY_PAGE_FILES);
  return { files: [page, join(dir, 'history.png')], render };
}
