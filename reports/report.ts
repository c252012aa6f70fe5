/**
 * Report files from a result file: CSV (csv-stringify), JSON (versioned, the same rows), a
 * self-contained HTML page (tables + Chart.js charts inlined, opens from a file with no network),
 * and PNG/PDF renderings of that page by headless Chromium (puppeteer-core).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../core/files.js';
import { launchBrowser } from '../harness/browser.js';
import type { ResultFile } from '../harness/results.js';
import { detectSteps, type HistoryLine, type StepChange } from '../harness/history.js';
import { type DeviceCeilings, deviceCeilings, layerFlops, type NetworkEstimate, networkEstimate, type ReportRow, reportRows } from './rows.js';

export const REPORT_SCHEMA = 'neotune-report';
export const REPORT_VERSION = 1;

export interface ReportData {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  created: string;
  command: string;
  environment: ResultFile['environment'];
  ceilings: DeviceCeilings[];
  rows: ReportRow[];
  network: NetworkEstimate[];
  layers: ReturnType<typeof layerFlops>;
  model: string;
  /** With a history file: the best NeoCell median per problem over the runs, and detected steps. */
  trend?: { labels: string[]; series: { problem: string; values: (number | null)[] }[]; steps: StepChange[] };
}

/** Per NeoCell problem, the best median of each history run (keys `… @ neocell <problem>`). */
export function trendOf(history: readonly HistoryLine[]): NonNullable<ReportData['trend']> {
  const problems = [...new Set(history.flatMap((h) => Object.keys(h.medians)).filter((k) => k.includes(' @ neocell ')).map((k) => k.split(' @ ')[1]!))].sort();
  return {
    labels: history.map((h) => h.label),
    series: problems.map((problem) => ({
      problem,
      values: history.map((h) => {
        const v = Object.entries(h.medians).filter(([k]) => k.endsWith(` @ ${problem}`)).map(([, m]) => m);
        return v.length ? Math.min(...v) : null;
      }),
    })),
    steps: detectSteps(history),
  };
}

/** The data behind report.html (rows, charts, network totals, trend) from a result file, for a NeoNeXt model at a resolution. */
export function reportData(f: ResultFile, model: 't' | 's' | 'b' | 'l' | 'xl' = 't', resolution = 224, history?: readonly HistoryLine[]): ReportData {
  const rows = reportRows(f);
  return {
    ...(history && history.length ? { trend: trendOf(history) } : {}),
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    created: f.created,
    command: f.command,
    environment: f.environment,
    ceilings: deviceCeilings(f),
    rows,
    network: networkEstimate(rows),
    layers: layerFlops(model, resolution),
    model: `NeoNeXt-${model.toUpperCase()} @${resolution}`,
  };
}

export const CSV_COLUMNS: readonly (keyof ReportRow)[] = [
  'case', 'occurrences', 'backend', 'device', 'kernel', 'role', 'params', 'op', 'shape', 'spec', 'cell', 'state', 'median_ms', 'p10_ms', 'p90_ms', 'samples', 'samples_total',
  'useful_gflops', 'executed_gflops', 'bytes', 'gbytes_per_s', 'intensity', 'speedup_vs_dwconv', 'roofline_gflops', 'roofline_fraction', 'trusted', 'flags',
];

export function reportCsv(d: ReportData): string {
  return stringify(
    d.rows.map((r) => CSV_COLUMNS.map((c) => r[c] ?? '')),
    // escape_formulas: a case name like "=HYPERLINK(…)" must not become a formula in a spreadsheet.
    { header: true, columns: CSV_COLUMNS as string[], escape_formulas: true },
  );
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON for a <script> element: `<`, `>`, `&` and the JS line separators as \u escapes, so no
 * value (e.g. a case name "<!--<script>") can close the element or switch the HTML parser into
 * its escaped-script state.
 */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

/** Chart.js's self-contained UMD build, inlined so the report opens offline from a file. */
function chartJs(): string {
  // The package's exports map hides dist/; resolve its main entry and take the sibling file.
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

export function reportHtml(d: ReportData): string {
  const neo = d.rows.filter((r) => r.op === 'neocell' && r.median_ms !== null);
  const bestPerCase = new Map<string, ReportRow>();
  for (const r of neo) {
    const k = `${r.case}|${r.backend}`;
    const b = bestPerCase.get(k);
    // Trusted timings first: a flagged one stands only where nothing else was measured.
    if (!b || (r.trusted !== b.trusted ? r.trusted : r.median_ms! < b.median_ms!)) bestPerCase.set(k, r);
  }
  const tuningRows = [...bestPerCase.values()]
    .map((r) => `<tr><td>${escapeHtml(r.case)}</td><td>${escapeHtml(r.backend)}</td><td>${r.shape}</td><td>${escapeHtml(r.cell)}</td><td>${escapeHtml(r.kernel)}</td><td><code>${escapeHtml(r.params)}</code></td><td>${fmt(r.median_ms, 4)}${r.trusted ? '' : ` <span title="${escapeHtml(r.flags)}">! ${escapeHtml(r.flags)}</span>`}</td><td>${fmt(r.p10_ms, 4)}–${fmt(r.p90_ms, 4)}</td><td>${r.samples}/${r.samples_total}</td><td>${fmt(r.useful_gflops, 1)}</td><td>${r.speedup_vs_dwconv ? `${fmt(r.speedup_vs_dwconv, 2)}×` : '–'}</td><td>${r.roofline_fraction !== null ? `${fmt(100 * r.roofline_fraction, 0)} %` : '–'}</td></tr>`)
    .join('\n');
  const networkRows = d.network
    .map((n) => `<tr><td>${escapeHtml(n.model)}</td><td>${escapeHtml(n.backend)}</td><td>${n.problems}</td><td>${fmt(n.neocell_ms, 3)}</td><td>${fmt(n.dwconv_ms, 3)}</td><td><b>${fmt(n.speedup, 2)}×</b></td></tr>`)
    .join('\n');
  const ceilingRows = d.ceilings.map((c) => `<tr><td>${escapeHtml(c.backend)}</td><td>${escapeHtml(c.device)}</td><td>${fmt(c.bandwidth_gbs, 1)}</td><td>${fmt(c.peak_gflops, 1)}</td></tr>`).join('\n');
  const json = scriptJson(d);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>neotune report: ${escapeHtml(d.model)}</title>
<style>
 body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1180px; color: #1d2430; }
 h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #dde3ea; padding-bottom: 4px; }
 .meta { color: #5b6675; font-size: 12.5px; } .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
 .card { border: 1px solid #e3e8ee; border-radius: 8px; padding: 12px 14px; background: #fff; } .card h3 { margin: 0 0 8px; font-size: 14px; }
 canvas { width: 100% !important; height: 300px !important; }
 table { border-collapse: collapse; width: 100%; font-size: 12.5px; } th, td { padding: 4px 8px; border-bottom: 1px solid #edf0f4; text-align: right; }
 th:first-child, td:first-child, table.tuning td:nth-child(5), table.tuning td:nth-child(6), table.tuning th:nth-child(5), table.tuning th:nth-child(6) { text-align: left; }
 th { background: #f5f7fa; } code { font-size: 11.5px; }
</style></head>
<body>
<h1>neotune report: ${escapeHtml(d.model)}</h1>
<div class="meta">${escapeHtml(d.created)} · <code>${escapeHtml(d.command)}</code> · Node ${escapeHtml(String((d.environment as unknown as Record<string, unknown>).node ?? ''))}. Every number is from a kernel verified against the float64 reference; ratios are measured side by side in one run.</div>
<h2>Network-level estimate (one forward pass, NeoCell layers only)</h2>
<table><tr><th>network</th><th>backend</th><th>NeoCell problems</th><th>NeoCell ms</th><th>same layers as dw 7×7, ms</th><th>speedup</th></tr>${networkRows || '<tr><td>no network suite measured completely (run the main job or --suite neonext-t)</td><td></td><td></td><td></td><td></td><td></td></tr>'}</table>
<div class="grid">
 <div class="card"><h3>Speedup of the best NeoCell kernel over the best depthwise 7×7 conv</h3><canvas id="speedup"></canvas></div>
 <div class="card"><h3>Per-layer MMACs: NeoCell vs depthwise 7×7 (${escapeHtml(d.model)})</h3><canvas id="layers"></canvas></div>
 <div class="card"><h3>Roofline (useful GFLOP/s vs FLOP/byte; ceilings measured on this device)</h3><canvas id="roofline"></canvas></div>
 <div class="card"><h3>Time per problem: best NeoCell, best depthwise conv, copy (ms, log)</h3><canvas id="times"></canvas></div>
</div>
${
    d.trend
      ? `<h2>Trend over ${d.trend.labels.length} runs (history)</h2>
<div class="card"><h3>Best NeoCell time per problem, ms</h3><canvas id="trend"></canvas></div>
<table><tr><th>record</th><th>step from run</th><th>before ms</th><th>after ms</th><th>change</th></tr>${
          d.trend.steps.map((st) => `<tr><td>${escapeHtml(st.key)}</td><td>${st.index} (${escapeHtml(st.label)})</td><td>${fmt(st.before_ms, 4)}</td><td>${fmt(st.after_ms, 4)}</td><td>${fmt((st.ratio - 1) * 100, 1)} %</td></tr>`).join('\n') || '<tr><td>no step change detected</td><td></td><td></td><td></td><td></td></tr>'
        }</table>`
      : ''
  }
<h2>Tuning results: best kernel per problem</h2>
<table class="tuning"><tr><th>case</th><th>backend</th><th>shape</th><th>cell</th><th>kernel</th><th>parameters</th><th>ms</th><th>p10–p90 ms</th><th>clean/all samples</th><th>GFLOP/s</th><th>vs dw 7×7</th><th>of roofline</th></tr>${tuningRows}</table>
<h2>Device ceilings</h2>
<table><tr><th>backend</th><th>device</th><th>copy bandwidth GB/s</th><th>compute peak GFLOP/s</th></tr>${ceilingRows}</table>
<script>${chartJs()}</script>
<script>
const D = ${json};
Chart.defaults.animation = false;
Chart.defaults.font.size = 11;
const colors = ['#2f6fdb', '#e07b24', '#2a9d6f', '#b0399a', '#7a7f87', '#c9a227'];
const backends = [...new Set(D.rows.map((r) => r.backend))];
const cases = [...new Set(D.rows.filter((r) => r.op === 'neocell').map((r) => r.case))];
const best = (b, c, op) => D.rows.filter((r) => r.backend === b && r.case === c && r.op === op && r.trusted && r.median_ms !== null).sort((x, y) => x.median_ms - y.median_ms)[0];
let drawn = 0;
window.__chartsExpected = D.trend ? 5 : 4;
const done = () => { drawn++; window.__chartsDone = drawn; };
if (D.trend) { new Chart(document.getElementById('trend'), { type: 'line', data: { labels: D.trend.labels, datasets: D.trend.series.map((s, i) => ({ label: s.problem, data: s.values, borderColor: colors[i % colors.length], backgroundColor: colors[i % colors.length], spanGaps: true })) }, options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms' } } } } }); done(); }
new Chart(document.getElementById('speedup'), { type: 'bar', data: { labels: cases, datasets: backends.map((b, i) => ({ label: b, backgroundColor: colors[i % colors.length], data: cases.map((c) => { const n = best(b, c, 'neocell'), w = best(b, c, 'dwconv'); return n && w ? w.median_ms / n.median_ms : null; }) })) }, options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { title: { display: true, text: 'dw 7×7 time / NeoCell time' }, beginAtZero: true } } } }); done();
new Chart(document.getElementById('layers'), { type: 'bar', data: { labels: D.layers.map((l) => l.layer), datasets: [{ label: 'NeoCell (useful)', backgroundColor: colors[0], data: D.layers.map((l) => l.neocell_mmacs) }, { label: 'depthwise 7×7', backgroundColor: colors[1], data: D.layers.map((l) => l.dwconv7_mmacs) }] }, options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { title: { display: true, text: 'MMACs per forward pass' } } } } }); done();
const roofSets = [];
D.ceilings.forEach((c, i) => {
  if (c.bandwidth_gbs && c.peak_gflops) {
    const pts = []; for (let e = -2; e <= 3; e += 0.05) { const x = 10 ** e; pts.push({ x, y: Math.min(c.peak_gflops, x * c.bandwidth_gbs) }); }
    roofSets.push({ type: 'line', label: c.backend + ' roofline', data: pts, borderColor: colors[i % colors.length], pointRadius: 0, borderWidth: 2 });
  }
});
backends.forEach((b, i) => roofSets.push({ type: 'scatter', label: b + ' kernels', backgroundColor: colors[(i + 2) % colors.length], data: D.rows.filter((r) => r.backend === b && r.useful_gflops && r.op !== 'copy').map((r) => ({ x: r.intensity, y: r.useful_gflops, k: r.kernel + ' ' + r.case })) }));
new Chart(document.getElementById('roofline'), { type: 'scatter', data: { datasets: roofSets }, options: { plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: (ctx) => ctx.raw.k || '' } } }, scales: { x: { type: 'logarithmic', title: { display: true, text: 'useful FLOP / byte' } }, y: { type: 'logarithmic', title: { display: true, text: 'GFLOP/s' } } } } }); done();
const timeSets = [];
backends.forEach((b, i) => ['neocell', 'dwconv', 'copy'].forEach((op, j) => timeSets.push({ label: b + ' ' + op, backgroundColor: colors[(3 * i + j) % colors.length], data: cases.map((c) => best(b, c, op)?.median_ms ?? null) })));
new Chart(document.getElementById('times'), { type: 'bar', data: { labels: cases, datasets: timeSets }, options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms' } } } } }); done();
</script>
</body></html>
`;
}

/** Charts of a report without history (a history adds the trend chart). */
export const CHART_COUNT = 4;

export interface RenderResult {
  readonly consoleErrors: readonly string[];
  readonly charts: number;
  /** Non-background pixels per canvas (each chart really drew). */
  readonly inkPerCanvas: readonly number[];
}

/** Opens the page in headless Chromium, checks every chart drew, writes PNG and PDF when asked. */
export async function renderReport(html: string, out: { png?: string; pdf?: string; jpeg?: string; scale?: number }): Promise<RenderResult> {
  const b = await launchBrowser({ '/index.html': ['text/html; charset=utf-8', html] });
  try {
    const page = await b.browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.setViewport({ width: 1240, height: 900, deviceScaleFactor: out.scale ?? 1 });
    await page.goto(`${b.origin}/index.html`, { waitUntil: 'load' });
    await page.waitForFunction('window.__chartsExpected !== undefined && window.__chartsDone === window.__chartsExpected', { timeout: 20_000 }).catch(() => {});
    const charts = (await page.evaluate('window.__chartsDone ?? 0')) as number;
    const inkPerCanvas = (await page.evaluate(`[...document.querySelectorAll('canvas')].map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })`)) as number[];
    if (out.png) writeFileAtomic(out.png, Buffer.from(await page.screenshot({ fullPage: true, type: 'png' })));
    if (out.jpeg) writeFileAtomic(out.jpeg, Buffer.from(await page.screenshot({ fullPage: true, type: 'jpeg', quality: 80 })));
    if (out.pdf) writeFileAtomic(out.pdf, Buffer.from(await page.pdf({ format: 'A4', landscape: true, printBackground: true, scale: 0.7 })));
    return { consoleErrors, charts, inkPerCanvas };
  } finally {
    await b.close();
  }
}

/** Writes report.{html,csv,json} and, unless `images` is false, report.{png,pdf} into `dir`. */
export async function writeReport(f: ResultFile, dir: string, images = true, history?: readonly HistoryLine[]): Promise<{ files: string[]; render?: RenderResult }> {
  const d = reportData(f, 't', 224, history);
  const html = reportHtml(d);
  const files = [join(dir, 'report.html'), join(dir, 'report.csv'), join(dir, 'report.json')];
  writeFileAtomic(files[0]!, html);
  writeFileAtomic(files[1]!, reportCsv(d));
  writeFileAtomic(files[2]!, JSON.stringify(d, null, 1) + '\n');
  if (!images) return { files };
  const png = join(dir, 'report.png');
  const pdf = join(dir, 'report.pdf');
  const render = await renderReport(html, { png, pdf });
  return { files: [...files, png, pdf], render };
}
