/**
 * Report files from a result file: CSV (csv-stringify), JSON (versioned, the same rows), a
 * self-contained HTML page (tables + Chart.js charts inlined, opens from a file with no network),
 * and PNG/PDF renderings of that page by headless Chromium (puppeteer-core).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { recordOutputFiles, writeFileAtomic } from '../core/files.js';
import { launchBrowser } from '../browser/chromium.js';
import type { ResultFile } from '../harness/results.js';
import { detectSteps, type HistoryLine, type StepChange } from '../analysis/history.js';
import { type DeviceCeilings, deviceCeilings, layerFlops, type NetworkEstimate, networkEstimate, type ReportRow, reportRows } from './rows.js';

export const REPORT_SCHEMA = 'neotune-report';
/** 2: title and subtitle; `layers` and `model` only for network suites; `suite` and `tuning` from the result file. */
export const REPORT_VERSION = 2;

export interface ReportData {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  created: string;
  command: string;
  /** What ran, e.g. "neonext-t on cpu, webgpu": the suite and the backends. */
  title: string;
  /** The suite's description (or, for a result file that does not name its suite, the number of problems). */
  subtitle: string;
  environment: ResultFile['environment'];
  suite?: ResultFile['suite'];
  /** Present when the run tuned first: the report then says how the parameters were chosen. */
  tuning?: ResultFile['tuning'];
  ceilings: DeviceCeilings[];
  rows: ReportRow[];
  /** Network suites only: the network-level estimate (empty when not every problem was measured) and the per-layer MACs. */
  network: NetworkEstimate[];
  layers?: ReturnType<typeof layerFlops>;
  model?: string;
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

/** The data behind report.html (rows, charts, network totals and layers for network suites, trend) from a result file. */
export function reportData(f: ResultFile, history?: readonly HistoryLine[]): ReportData {
  const rows = reportRows(f);
  const backends = [...new Set(rows.map((r) => r.backend))];
  const problems = new Set(rows.filter((r) => r.op === 'neocell').map((r) => r.case)).size;
  const net = f.suite?.network;
  return {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    created: f.created,
    command: f.command,
    title: `${f.suite?.name ?? `${problems} NeoCell problem${problems === 1 ? '' : 's'}`} on ${backends.join(', ') || 'no backend'}`,
    subtitle: f.suite?.description ?? `${problems} NeoCell problem${problems === 1 ? '' : 's'} (the result file does not name its suite)`,
    environment: f.environment,
    ...(f.suite ? { suite: f.suite } : {}),
    ...(f.tuning ? { tuning: f.tuning } : {}),
    ceilings: deviceCeilings(f),
    rows,
    network: net ? networkEstimate(rows) : [],
    ...(net ? { layers: layerFlops(net.model, net.resolution), model: `NeoNeXt-${net.model.toUpperCase()} @${net.resolution}` } : {}),
    ...(history && history.length ? { trend: trendOf(history) } : {}),
  };
}

export const CSV_COLUMNS: readonly (keyof ReportRow)[] = [
  'case', 'occurrences', 'backend', 'device', 'kernel', 'role', 'params', 'op', 'shape', 'spec', 'cell', 'state', 'median_ms', 'p10_ms', 'p90_ms', 'samples', 'samples_total',
  'useful_gflops', 'executed_gflops', 'bytes', 'gbytes_per_s', 'intensity', 'speedup_vs_dwconv', 'roofline_gflops', 'roofline_fraction', 'trusted', 'flags', 'operations',
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

/** The exact lane's counts for a table cell: multiply-adds (a GPU kernel's invocations and operators), loads and stores, compactly ("madds 68.7k · loads 44.1k"). */
function operationsText(ops: string): string {
  if (!ops) return '–';
  const short = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
  const keep = /^(vector_madds|vector_muls|vector_adds|vector_loads|vector_stores|float_muls|float_adds|loads|stores|bulk_copies|invocations|arith_ops|fmas|storage_loads|storage_stores|workgroup_loads|workgroup_stores|barriers)$/;
  return escapeHtml(ops.split(' ').map((kv) => kv.split('=')).filter(([k]) => keep.test(k!)).map(([k, v]) => `${k!.replace(/^vector_/, 'v.')} ${short(Number(v))}`).join(' · ') || '–');
}

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

/** Chart.js's self-contained UMD build, inlined so the report opens offline from a file. */
export function chartJs(): string {
  // The package's exports map hides dist/; resolve its main entry and take the sibling file.
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
}

/** Pixel height of a bar chart with `labels` groups of `bars` bars: horizontal bars past 8 groups, so long label lists stay readable. */
function barChartHeight(labels: number, bars: number): { height: number; horizontal: boolean } {
  if (labels <= 8) return { height: 300, horizontal: false };
  return { height: Math.min(1400, 70 + labels * (8 + 9 * Math.max(1, bars))), horizontal: true };
}

/** The charts a report draws: the per-layer chart only for network suites, the trend only with a history. */
export function reportCharts(d: ReportData): string[] {
  return ['speedup', ...(d.layers ? ['layers'] : []), 'roofline', 'times', ...(d.trend ? ['trend'] : [])];
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
  const bestRows = [...bestPerCase.values()]
    .map((r) => `<tr><td>${escapeHtml(r.case)}</td><td>${escapeHtml(r.backend)}</td><td>${r.shape}</td><td>${escapeHtml(r.cell)}</td><td>${escapeHtml(r.kernel)}</td><td><code>${escapeHtml(r.params)}</code></td><td>${fmt(r.median_ms, 4)}${r.trusted ? '' : ` <span title="${escapeHtml(r.flags)}">! ${escapeHtml(r.flags)}</span>`}</td><td>${fmt(r.p10_ms, 4)}–${fmt(r.p90_ms, 4)}</td><td>${r.samples}/${r.samples_total}</td><td>${fmt(r.useful_gflops, 1)}</td><td>${r.speedup_vs_dwconv ? `${fmt(r.speedup_vs_dwconv, 2)}×` : '–'}</td><td>${r.roofline_fraction !== null ? `${fmt(100 * r.roofline_fraction, 0)} %` : '–'}</td><td class="ops">${operationsText(r.operations)}</td></tr>`)
    .join('\n');
  const networkRows = d.network
    .map((n) => `<tr><td>${escapeHtml(n.model)}</td><td>${escapeHtml(n.backend)}</td><td>${n.problems}</td><td>${fmt(n.neocell_ms, 3)}</td><td>${fmt(n.dwconv_ms, 3)}</td><td><b>${fmt(n.speedup, 2)}×</b></td></tr>`)
    .join('\n');
  const ceilingRows = d.ceilings.map((c) => `<tr><td>${escapeHtml(c.backend)}</td><td>${escapeHtml(c.device)}</td><td>${fmt(c.bandwidth_gbs, 1)}</td><td>${fmt(c.peak_gflops, 1)}</td></tr>`).join('\n');
  const backends = new Set(d.rows.map((r) => r.backend)).size;
  const cases = new Set(d.rows.filter((r) => r.op === 'neocell').map((r) => r.case)).size;
  // Chart sizes follow their content; Chart.js fills its box (maintainAspectRatio: false), so nothing is stretched.
  const sizes = {
    speedup: barChartHeight(cases, backends),
    layers: barChartHeight(d.layers?.length ?? 0, 2),
    times: barChartHeight(cases, 3 * backends),
    roofline: { height: 340, horizontal: false },
    trend: { height: 320, horizontal: false },
  };
  const card = (id: keyof typeof sizes, title: string, wide = false) =>
    `<div class="card${wide || sizes[id].horizontal ? ' wide' : ''}"><h3>${title}</h3><div class="chart" style="height:${sizes[id].height}px"><canvas id="${id}"></canvas></div></div>`;
  const tuning = d.tuning
    ? `<p>Tuned before measuring: strategy ${escapeHtml(d.tuning.strategy)}, effort ${escapeHtml(d.tuning.effort)} (${escapeHtml(d.tuning.budget)}), choices stored in <code>${escapeHtml(d.tuning.database)}</code>. The parameters below are each kernel's tuned choice, measured again side by side in this run.</p>`
    : '';
  const json = scriptJson({ ...d, horizontal: Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, v.horizontal])) });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>neotune report: ${escapeHtml(d.title)}</title>
<style>
 body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1180px; color: #1d2430; }
 h1 { font-size: 22px; margin-bottom: 2px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #dde3ea; padding-bottom: 4px; }
 .sub { font-size: 15px; color: #39424e; margin-bottom: 4px; } .meta { color: #5b6675; font-size: 12.5px; }
 .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; margin-top: 20px; align-items: start; }
 .card { border: 1px solid #e3e8ee; border-radius: 8px; padding: 12px 14px; background: #fff; } .card h3 { margin: 0 0 8px; font-size: 14px; }
 .card.wide { grid-column: 1 / -1; } .chart { position: relative; width: 100%; }
 table { border-collapse: collapse; width: 100%; font-size: 12.5px; } th, td { padding: 4px 8px; border-bottom: 1px solid #edf0f4; text-align: right; }
 th:first-child, td:first-child, table.best td:nth-child(5), table.best td:nth-child(6), table.best th:nth-child(5), table.best th:nth-child(6) { text-align: left; }
 th { background: #f5f7fa; } code { font-size: 11.5px; }
</style></head>
<body>
<h1>neotune report: ${escapeHtml(d.title)}</h1>
<div class="sub">${escapeHtml(d.subtitle)}</div>
<div class="meta">${escapeHtml(d.created)} · <code>${escapeHtml(d.command)}</code> · Node ${escapeHtml(String((d.environment as unknown as Record<string, unknown>).node ?? ''))}. Every number is from a kernel verified against the float64 reference; ratios are measured side by side in one run; error bars span p10–p90 of the clean samples.</div>
${
    d.layers
      ? `<h2>Network-level estimate (one forward pass, NeoCell layers only)</h2>
<table><tr><th>network</th><th>backend</th><th>NeoCell problems</th><th>NeoCell ms</th><th>same layers as dw 7×7, ms</th><th>speedup</th></tr>${networkRows || '<tr><td>not every NeoCell problem of the network has a trusted timing on one backend (a stage suite, a stopped run, or only flagged timings)</td><td></td><td></td><td></td><td></td><td></td></tr>'}</table>`
      : ''
  }
<div class="grid">
 ${card('speedup', 'Speedup of the best NeoCell kernel over the best depthwise 7×7 conv')}
 ${d.layers ? card('layers', `Per-layer MMACs: NeoCell vs depthwise 7×7 (${escapeHtml(d.model!)})`) : ''}
 ${card('roofline', 'Roofline (useful GFLOP/s vs FLOP/byte; ceilings measured on this device)')}
 ${card('times', 'Time per problem: best NeoCell, best depthwise conv, copy (ms, log)')}
</div>
${
    d.trend
      ? `<h2>Trend over ${d.trend.labels.length} runs (history)</h2>
${card('trend', 'Best NeoCell time per problem, ms', true)}
<table><tr><th>record</th><th>step from run</th><th>before ms</th><th>after ms</th><th>change</th></tr>${
          d.trend.steps.map((st) => `<tr><td>${escapeHtml(st.key)}</td><td>${st.index} (${escapeHtml(st.label)})</td><td>${fmt(st.before_ms, 4)}</td><td>${fmt(st.after_ms, 4)}</td><td>${fmt((st.ratio - 1) * 100, 1)} %</td></tr>`).join('\n') || '<tr><td>no step change detected</td><td></td><td></td><td></td><td></td></tr>'
        }</table>`
      : ''
  }
<h2>Fastest NeoCell kernel per problem</h2>
${tuning}
<table class="best"><tr><th>case</th><th>backend</th><th>shape</th><th>cell</th><th>kernel</th><th>parameters</th><th>ms</th><th>p10–p90 ms</th><th>clean/all samples</th><th>GFLOP/s</th><th>vs dw 7×7</th><th>of roofline</th><th>operations per call (exact)</th></tr>${bestRows}</table>
<h2>Device ceilings</h2>
<table><tr><th>backend</th><th>device</th><th>copy bandwidth GB/s</th><th>compute peak GFLOP/s</th></tr>${ceilingRows}</table>
<script>${chartJs()}</script>
<script>
const D = ${json};
Chart.defaults.animation = false;
Chart.defaults.font.size = 11;
Chart.defaults.maintainAspectRatio = false;
// Tableau 10, then ten more: every series of a chart gets its own colour.
const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#9c755f', '#ff9da7', '#bab0ac', '#1f3b73', '#a34f00', '#2e6b2a', '#8c1c1c', '#3a7f7a', '#6b3f69', '#9a8420', '#5b4331', '#c2576a', '#6f6a66'];
// A backend's colour, lighter for its baselines: NeoCell full, depthwise conv 55 %, copy 25 %.
const shade = (hex, f) => { const n = parseInt(hex.slice(1), 16); const c = [n >> 16, (n >> 8) & 255, n & 255].map((v) => Math.round(255 - (255 - v) * f)); return 'rgb(' + c.join(',') + ')'; };
const backends = [...new Set(D.rows.map((r) => r.backend))];
const colorOf = (b) => palette[backends.indexOf(b) % palette.length];
const cases = [...new Set(D.rows.filter((r) => r.op === 'neocell').map((r) => r.case))];
// The NeoCell kernel: the fastest trusted one. A baseline (dwconv, copy): the fastest one, and
// nothing when its timing is flagged (a slower trusted baseline would flatter NeoCell).
const best = (b, c, op) => {
  const rs = D.rows.filter((r) => r.backend === b && r.case === c && r.op === op && r.median_ms !== null).sort((x, y) => x.median_ms - y.median_ms);
  return op === 'neocell' ? rs.find((r) => r.trusted) : rs[0]?.trusted ? rs[0] : undefined;
};
// p10–p90 whiskers for datasets that carry errorBars: [[low, high] | null per bar].
Chart.register({ id: 'errorBars', afterDatasetsDraw(chart) {
  const horizontal = chart.options.indexAxis === 'y';
  const scale = horizontal ? chart.scales.x : chart.scales.y;
  const ctx = chart.ctx;
  chart.data.datasets.forEach((ds, i) => {
    const meta = chart.getDatasetMeta(i);
    if (!ds.errorBars || meta.hidden) return;
    meta.data.forEach((bar, j) => {
      const e = ds.errorBars[j];
      if (!e || ds.data[j] === null) return;
      const a = scale.getPixelForValue(e[0]), z = scale.getPixelForValue(e[1]), m = horizontal ? bar.y : bar.x, w = 3;
      ctx.save(); ctx.strokeStyle = '#1d2430'; ctx.lineWidth = 1; ctx.beginPath();
      if (horizontal) { ctx.moveTo(a, m); ctx.lineTo(z, m); ctx.moveTo(a, m - w); ctx.lineTo(a, m + w); ctx.moveTo(z, m - w); ctx.lineTo(z, m + w); }
      else { ctx.moveTo(m, a); ctx.lineTo(m, z); ctx.moveTo(m - w, a); ctx.lineTo(m + w, a); ctx.moveTo(m - w, z); ctx.lineTo(m + w, z); }
      ctx.stroke(); ctx.restore();
    });
  });
} });
const withRange = (ctx) => { const e = ctx.dataset.errorBars?.[ctx.dataIndex]; const v = ctx.parsed[D.horizontal[ctx.chart.canvas.id] ? 'x' : 'y']; return ctx.dataset.label + ': ' + (+v).toPrecision(3) + (e ? ' (p10–p90 ' + e[0].toPrecision(3) + '–' + e[1].toPrecision(3) + ')' : ''); };
const barOptions = (id, valueAxis) => {
  const h = D.horizontal[id];
  return { indexAxis: h ? 'y' : 'x', plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: withRange } } }, scales: { [h ? 'x' : 'y']: valueAxis } };
};
let drawn = 0;
window.__chartsExpected = ${JSON.stringify(reportCharts(d).length)};
const done = () => { drawn++; window.__chartsDone = drawn; };
new Chart(document.getElementById('speedup'), { type: 'bar', data: { labels: cases, datasets: backends.map((b) => {
  const pairs = cases.map((c) => [best(b, c, 'neocell'), best(b, c, 'dwconv')]);
  // The ratio's spread from the two spreads: slowest NeoCell against fastest conv, and the reverse.
  return { label: b, backgroundColor: colorOf(b), data: pairs.map(([n, w]) => (n && w ? w.median_ms / n.median_ms : null)), errorBars: pairs.map(([n, w]) => (n && w && n.p10_ms && n.p90_ms && w.p10_ms && w.p90_ms ? [w.p10_ms / n.p90_ms, w.p90_ms / n.p10_ms] : null)) };
}).filter((set) => set.data.some((v) => v !== null)) /* a backend with no speedup (verified only) gets no legend entry */ }, options: barOptions('speedup', { title: { display: true, text: 'dw 7×7 time / NeoCell time' }, beginAtZero: true }) }); done();
if (D.layers) { new Chart(document.getElementById('layers'), { type: 'bar', data: { labels: D.layers.map((l) => l.layer), datasets: [{ label: 'NeoCell (useful)', backgroundColor: palette[0], data: D.layers.map((l) => l.neocell_mmacs) }, { label: 'depthwise 7×7', backgroundColor: palette[1], data: D.layers.map((l) => l.dwconv7_mmacs) }] }, options: barOptions('layers', { title: { display: true, text: 'MMACs per forward pass' } }) }); done(); }
const roofSets = [];
D.ceilings.forEach((c) => {
  if (c.bandwidth_gbs && c.peak_gflops) {
    const pts = []; for (let e = -2; e <= 3; e += 0.05) { const x = 10 ** e; pts.push({ x, y: Math.min(c.peak_gflops, x * c.bandwidth_gbs) }); }
    roofSets.push({ type: 'line', label: c.backend + ' roofline', data: pts, borderColor: colorOf(c.backend), pointRadius: 0, borderWidth: 2 });
  }
});
backends.forEach((b) => [['neocell', 1, 'circle'], ['dwconv', 0.55, 'triangle']].forEach(([op, f, style]) => {
  const data = D.rows.filter((r) => r.backend === b && r.op === op && r.useful_gflops).map((r) => ({ x: r.intensity, y: r.useful_gflops, k: r.kernel + ' ' + r.case }));
  if (data.length) roofSets.push({ type: 'scatter', label: b + ' ' + (op === 'neocell' ? 'NeoCell kernels' : 'depthwise conv'), backgroundColor: shade(colorOf(b), f), borderColor: colorOf(b), pointStyle: style, pointRadius: 4, data });
}));
new Chart(document.getElementById('roofline'), { type: 'scatter', data: { datasets: roofSets }, options: { plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: (ctx) => ctx.raw.k || ctx.dataset.label } } }, scales: { x: { type: 'logarithmic', title: { display: true, text: 'useful FLOP / byte' } }, y: { type: 'logarithmic', title: { display: true, text: 'GFLOP/s' } } } } }); done();
const timeSets = [];
backends.forEach((b) => [['neocell', 1], ['dwconv', 0.55], ['copy', 0.25]].forEach(([op, f]) => {
  const rs = cases.map((c) => best(b, c, op));
  if (rs.some(Boolean)) timeSets.push({ label: b + ' ' + op, backgroundColor: shade(colorOf(b), f), borderColor: colorOf(b), borderWidth: f < 1 ? 1 : 0, data: rs.map((r) => r?.median_ms ?? null), errorBars: rs.map((r) => (r && r.p10_ms && r.p90_ms ? [r.p10_ms, r.p90_ms] : null)) });
}));
new Chart(document.getElementById('times'), { type: 'bar', data: { labels: cases, datasets: timeSets }, options: barOptions('times', { type: 'logarithmic', title: { display: true, text: 'ms' } }) }); done();
if (D.trend) { new Chart(document.getElementById('trend'), { type: 'line', data: { labels: D.trend.labels, datasets: D.trend.series.map((s, i) => ({ label: s.problem, data: s.values, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], spanGaps: true })) }, options: { plugins: { legend: { position: 'bottom' } }, scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms' } } } } }); done(); }
</script>
</body></html>
`;
}

export interface RenderResult {
  readonly consoleErrors: readonly string[];
  readonly charts: number;
  /** Non-background pixels per canvas (each chart really drew). */
  readonly inkPerCanvas: readonly number[];
}

/** Opens the page in headless Chromium, checks every chart drew, writes PNG and PDF when asked. */
export async function renderReport(html: string, out: { png?: string; pdf?: string; jpeg?: string; scale?: number; /** the files are neotune's own names: never written through a link */ own?: boolean }): Promise<RenderResult> {
  const o = { followLink: !out.own };
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
    if (out.png) writeFileAtomic(out.png, Buffer.from(await page.screenshot({ fullPage: true, type: 'png' })), o);
    if (out.jpeg) writeFileAtomic(out.jpeg, Buffer.from(await page.screenshot({ fullPage: true, type: 'jpeg', quality: 80 })), o);
    if (out.pdf) writeFileAtomic(out.pdf, Buffer.from(await page.pdf({ format: 'A4', landscape: true, printBackground: true, scale: 0.7 })), o);
    return { consoleErrors, charts, inkPerCanvas };
  } finally {
    await b.close();
  }
}

/** The files writeReport writes into its folder (the images unless `images` is false). */
export const reportFileNames = (images = true): string[] => ['report.html', 'report.csv', 'report.json', ...(images ? ['report.png', 'report.pdf'] : [])];

/**
 * Writes report.{html,csv,json} and, unless `images` is false, report.{png,pdf} into `dir`, never
 * through a link at those names, and lists them as neotune's own (core/files.ts checkOutputFiles).
 */
export async function writeReport(f: ResultFile, dir: string, images = true, history?: readonly HistoryLine[]): Promise<{ files: string[]; render?: RenderResult }> {
  const d = reportData(f, history);
  const html = reportHtml(d);
  const files = [join(dir, 'report.html'), join(dir, 'report.csv'), join(dir, 'report.json')];
  const own = { followLink: false } as const;
  writeFileAtomic(files[0]!, html, own);
  writeFileAtomic(files[1]!, reportCsv(d), own);
  writeFileAtomic(files[2]!, JSON.stringify(d, null, 1) + '\n', own);
  if (!images) {
    recordOutputFiles(dir, reportFileNames(false));
    return { files };
  }
  const png = join(dir, 'report.png');
  const pdf = join(dir, 'report.pdf');
  const render = await renderReport(html, { png, pdf, own: true });
  recordOutputFiles(dir, reportFileNames(true));
  return { files: [...files, png, pdf], render };
}
