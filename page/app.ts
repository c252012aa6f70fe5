/**
 * The neotune page: tunes NeoCell kernels on the visitor's own machine. It shows the device, lets
 * the visitor pick a suite (or type a layer), backends and an effort (or takes them from the URL:
 * `?suite=smoke&backends=wasm,webgpu&effort=quick&autorun=1`; `budget=N` evaluations per problem;
 * `include-software=1` tunes WebGPU on a software renderer too; `submit=1` sends the results to a
 * collecting server), runs the tuner in a Web Worker (tune-worker.ts) with live progress, then
 * shows the winners, NeoCell against the depthwise conv (table and chart), and offers the tuning
 * database (the CLI's format: `neotune db-merge` takes it), a CSV and, per device, the runtime
 * bundle with its tuned choices. When a run ends, `window.neotune` is `{ done: true, db, results }`
 * (or `{ done: true, error }`), for scripts driving the page.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LogarithmicScale, Tooltip } from 'chart.js';
import { stringify } from 'csv-stringify/browser/esm/sync';
import { dispatchTable, fillRuntimeBundle } from '../tuner/dispatch.js';
import { comparisonUnstable, type TuningDb } from '../tuner/db-model.js';
import { type CustomLayer, PAGE_BACKENDS, PAGE_EFFORTS, PAGE_SUITES, type PageBackend, type PageEffort, type PageSuite, type TunedMessage, type TuneRequest, type WorkerMessage } from './protocol.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, Legend, Tooltip);

/** One tuned problem as the page reports it (window.neotune.results). */
interface PageResult {
  case: string;
  op: 'neocell' | 'dwconv';
  backend: PageBackend;
  device: string;
  shape: string;
  winner: string | null;
  median_ms: number | null;
  timing_method: string | null;
  evaluated: number;
  failed: number;
  software: string | null;
  /** Why the winner's time is not trustworthy (its timing unstable): no speedup is computed from it. */
  unstable: string | null;
}

interface PageState {
  done: boolean;
  db?: TuningDb;
  results?: PageResult[];
  notes?: string[];
  error?: string;
  /** The collecting server's answer to the submission (status and body). */
  submitted?: { status: number; body: unknown };
}

const state: PageState = { done: false };
(globalThis as unknown as { neotune: PageState }).neotune = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const text = (id: string, s: string) => void ($(id).textContent = s);
const row = (cells: readonly string[], tag: 'td' | 'th' = 'td') => {
  const tr = document.createElement('tr');
  for (const s of cells) {
    const cell = document.createElement(tag);
    cell.textContent = s;
    tr.append(cell);
  }
  return tr;
};

/** The browser's name and major version ("Chromium 131"), from User-Agent Client Hints when the browser has them. */
function browserName(): string {
  const brands = (navigator as Navigator & { userAgentData?: { brands: { brand: string; version: string }[] } }).userAgentData?.brands ?? [];
  const b = brands.find((x) => !/not.?a.?brand/i.test(x.brand) && x.brand !== 'Chromium') ?? brands.find((x) => x.brand === 'Chromium');
  if (b) return `${b.brand} ${b.version}`;
  const m = /(Firefox|Edg|Chrome|Safari)\/(\d+)/.exec(navigator.userAgent);
  return m ? `${m[1]} ${m[2]}` : 'unknown browser';
}

async function describeDevice(): Promise<void> {
  const rows: [string, string][] = [
    ['browser', browserName()],
    ['CPU threads', String(navigator.hardwareConcurrency ?? 1)],
    ['WebAssembly threads', crossOriginIsolated ? 'yes (cross-origin isolated)' : 'no: the page is not cross-origin isolated, kernels run on one thread'],
  ];
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (adapter) {
    const info = adapter.info;
    rows.push(['GPU', [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'an adapter without a description']);
    rows.push(['GPU features', [...adapter.features].sort().join(', ') || 'none']);
    rows.push(['GPU limits', `workgroup ${adapter.limits.maxComputeWorkgroupSizeX}, ${adapter.limits.maxComputeInvocationsPerWorkgroup} invocations, ${(adapter.limits.maxComputeWorkgroupStorageSize / 1024).toFixed(0)} KiB workgroup memory, storage buffer ${(adapter.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`]);
  } else rows.push(['GPU', gpu ? 'no WebGPU adapter' : 'no WebGPU in this browser']);
  $('device').replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = row([v]);
      tr.prepend(row([k], 'th').firstElementChild!);
      return tr;
    }),
  );
}

/** A choice from the URL (or the form), checked against what the page offers. */
function choice<T extends string>(name: string, value: string | null, allowed: readonly T[], fallback: T): T {
  if (value === null || value === '') return fallback;
  if (!allowed.includes(value as T)) throw new Error(`${name}=${value} is not offered; allowed: ${allowed.join(', ')}`);
  return value as T;
}

/** A positive integer field of the custom layer form (or URL). */
function intField(name: string, value: string | null, max: number, min = 1): number {
  const n = Number(value);
  if (value === null || value === '' || !Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${value ?? ''} is not offered; allowed: an integer from ${min} to ${max}`);
  return n;
}

function fail(message: string): void {
  state.error = message;
  state.done = true;
  text('status', `error: ${message}`);
  $<HTMLButtonElement>('start').disabled = false;
}

const ms = (v: number | null) => (v === null ? '–' : v < 1 ? v.toFixed(4) : v.toPrecision(4));

/** NeoCell against the depthwise 7×7 conv it replaces, per case and backend (speedup: dwconv ms / NeoCell ms). */
function comparisons(results: readonly PageResult[]) {
  return results
    .filter((r) => r.op === 'neocell')
    .map((n) => {
      const d = results.find((r) => r.op === 'dwconv' && r.case === n.case && r.backend === n.backend);
      const unstable = comparisonUnstable(n.unstable, d?.unstable) ?? null;
      const speedup = !n.software && !unstable && n.median_ms !== null && d?.median_ms ? d.median_ms / n.median_ms : null;
      return { case: n.case, backend: n.backend, neocell_ms: n.median_ms, dwconv_ms: d?.median_ms ?? null, speedup, software: n.software, unstable };
    });
}

const charts: Chart[] = [];
const COLORS = { wasm: ['#3b6fb6', '#9db7db'], webgpu: ['#d9822b', '#ecc095'] } as const;
const backendTitle = (b: PageBackend) => (b === 'wasm' ? 'WebAssembly (this CPU)' : 'WebGPU (this GPU)');

/** The report's speedup and time charts for this run (software renderers' times left out: they are not GPU performance). */
function showComparison(results: readonly PageResult[]): void {
  const rows = comparisons(results);
  $('compare').replaceChildren(
    ...rows.map((c) => row([c.case, c.backend, ms(c.neocell_ms), ms(c.dwconv_ms), c.software ? `software renderer (${c.software}): not GPU performance` : c.unstable ? `withheld (${c.unstable})` : c.speedup === null ? '–' : `${c.speedup.toFixed(2)}×`])),
  );
  for (const c of charts.splice(0)) c.destroy();
  const shown = rows.filter((c) => c.speedup !== null);
  $('charts').hidden = shown.length === 0;
  if (!shown.length) return;
  const cases = [...new Set(shown.map((c) => c.case))];
  const backends = [...new Set(shown.map((c) => c.backend))];
  const at = (b: PageBackend, c: string) => shown.find((x) => x.case === c && x.backend === b);
  const options = (title: string, log = false) => ({ animation: false as const, responsive: true, maintainAspectRatio: false, scales: { y: { type: log ? ('logarithmic' as const) : ('linear' as const), beginAtZero: !log, title: { display: true, text: title } } } });
  charts.push(
    new Chart($<HTMLCanvasElement>('chart-speedup'), {
      type: 'bar',
      data: { labels: cases, datasets: backends.map((b) => ({ label: backendTitle(b), data: cases.map((c) => at(b, c)?.speedup ?? null), backgroundColor: COLORS[b][0] })) },
      options: options('speedup over depthwise 7×7 (×)'),
    }),
    new Chart($<HTMLCanvasElement>('chart-times'), {
      type: 'bar',
      data: {
        labels: cases,
        datasets: backends.flatMap((b) => [
          { label: `NeoCell, ${backendTitle(b)}`, data: cases.map((c) => at(b, c)?.neocell_ms ?? null), backgroundColor: COLORS[b][0] },
          { label: `depthwise 7×7, ${backendTitle(b)}`, data: cases.map((c) => at(b, c)?.dwconv_ms ?? null), backgroundColor: COLORS[b][1] },
        ]),
      },
      options: options('median ms per call (log)', true),
    }),
  );
}

function download(id: string, name: string, body: string, type: string): void {
  const link = $<HTMLAnchorElement>(id);
  link.href = URL.createObjectURL(new Blob([body], { type }));
  link.download = name;
  link.hidden = false;
}

function csvOf(results: readonly PageResult[]): string {
  return stringify(
    results.map((r) => ({ ...r, software: r.software ?? '', unstable: r.unstable ?? '' })),
    { header: true, columns: ['case', 'op', 'backend', 'device', 'shape', 'winner', 'median_ms', 'timing_method', 'evaluated', 'failed', 'software', 'unstable'] },
  );
}

/** One download link per tuned device: the runtime bundle (neotune export --format bundle) with this device's choices. */
async function offerBundles(db: TuningDb): Promise<void> {
  const devices = [...new Set(Object.values(db.entries).filter((e) => e.winner && e.problem.op === 'neocell').map((e) => e.device))];
  if (!devices.length) return;
  const template = await (await fetch(new URL('./neocell-runtime.template.js', import.meta.url))).text();
  $('bundles').replaceChildren(
    ...devices.map((device, i) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([fillRuntimeBundle(template, dispatchTable(db, device))], { type: 'text/javascript' }));
      a.download = `neocell-${device.startsWith('cpu') ? 'wasm' : 'webgpu'}${i ? `-${i}` : ''}.js`;
      a.dataset.device = device;
      a.textContent = `kernel bundle for ${device.replace(/ \| /g, ', ')}`;
      li.append(a);
      return li;
    }),
  );
}

/** Sends the database to the serving neotune (serve --collect); the answer goes to window.neotune.submitted. */
async function submit(db: TuningDb): Promise<void> {
  text('submit-status', 'sending…');
  const r = await fetch(new URL('./api/results', location.href), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(db) });
  const body = (await r.json().catch(() => ({}))) as { error?: string; merged?: number };
  state.submitted = { status: r.status, body };
  if (r.ok) {
    $('submit-status').innerHTML = `merged ${body.merged} results: see the <a href="leaderboard">leaderboard</a>`;
  } else text('submit-status', `refused (${r.status}): ${body.error ?? r.statusText}`);
}

/** Whether the server takes submissions (neotune serve --collect). */
async function collecting(): Promise<boolean> {
  try {
    const r = await fetch(new URL('./api/collect', location.href));
    return r.ok && ((await r.json()) as { collect?: boolean }).collect === true;
  } catch {
    return false;
  }
}

function run(req: Omit<TuneRequest, 'threads' | 'browser'>, autoSubmit: boolean): void {
  if (req.backends.length === 0) return fail('backends is empty; allowed: wasm, webgpu (one or both)');
  $<HTMLButtonElement>('start').disabled = true;
  state.done = false;
  state.results = [];
  state.notes = [];
  delete state.error;
  $('results').replaceChildren();
  $('notes').replaceChildren();
  const threads = crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency ?? 1) : 1;
  const worker = new Worker(new URL('./tune-worker.js', import.meta.url), { type: 'module' });
  const started = performance.now();
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    if (m.type === 'progress') {
      const frac = (m.index + (m.total ? Math.min(1, m.done / m.total) : 0)) / m.problems;
      const elapsed = (performance.now() - started) / 1000;
      const eta = frac > 0.03 ? `, about ${Math.round((elapsed * (1 - frac)) / frac)} s left` : '';
      $<HTMLProgressElement>('progress').value = frac;
      text('status', `problem ${m.index + 1}/${m.problems}, ${m.problem}: candidate ${m.done}/${m.total}${m.failed ? `, ${m.failed} failed` : ''}, best ${m.best_ms === null ? '–' : `${m.best_ms.toFixed(4)} ms`}${eta}`);
    } else if (m.type === 'tuned') {
      const r = result(m);
      state.results!.push(r);
      const gflops = r.median_ms && !r.software ? (m.flops / r.median_ms / 1e6).toFixed(1) : '–';
      $('results').append(row([r.case, r.op, r.backend, r.shape, r.winner ?? 'none verified', r.software ? `${ms(r.median_ms)} (software renderer: not GPU performance)` : r.unstable ? `${ms(r.median_ms)} (unstable: ${r.unstable})` : ms(r.median_ms), gflops, String(r.evaluated), String(r.failed)]));
    } else if (m.type === 'note') {
      state.notes!.push(m.message);
      const li = document.createElement('li');
      li.textContent = m.message;
      $('notes').append(li);
    } else if (m.type === 'done') {
      worker.terminate();
      void finish(m.db, started, autoSubmit).catch((err: unknown) => fail((err as Error).message));
    } else {
      worker.terminate();
      fail(m.message);
    }
  };
  worker.onerror = (e) => fail(`the tuning worker stopped: ${e.message}`);
  worker.postMessage({ ...req, threads, browser: browserName() } satisfies TuneRequest);
}

function result(m: TunedMessage): PageResult {
  return { case: m.case, op: m.op, backend: m.backend, device: m.device, shape: m.shape, winner: m.winner?.key ?? null, median_ms: m.winner?.median_ms ?? null, timing_method: m.winner?.timing_method ?? null, evaluated: m.evaluated, failed: m.failed, software: m.software ?? null, unstable: m.winner?.unstable ?? null };
}

async function finish(db: TuningDb, started: number, autoSubmit: boolean): Promise<void> {
  state.db = db;
  $<HTMLProgressElement>('progress').value = 1;
  showComparison(state.results!);
  download('download-db', 'tuning-db.json', JSON.stringify(db), 'application/json');
  download('download-csv', 'neotune-results.csv', csvOf(state.results!), 'text/csv');
  await offerBundles(db);
  $('downloads').hidden = false;
  text('status', `done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (await collecting()) {
    const button = $<HTMLButtonElement>('submit');
    $('submit-box').hidden = false;
    button.onclick = () => void submit(db).catch((e: unknown) => text('submit-status', `not sent: ${(e as Error).message}`));
    if (autoSubmit) await submit(db);
  } else if (autoSubmit) state.submitted = { status: 0, body: { error: 'this server does not collect results (neotune serve --collect DB does)' } };
  state.done = true;
  $<HTMLButtonElement>('start').disabled = false;
}

/** The custom layer from the form's fields (named as the URL parameters). */
function customLayer(get: (name: string) => string | null): CustomLayer {
  const spec = (get('spec') ?? '').trim();
  if (!spec) throw new Error('spec= is not offered; allowed: a kernel string ("4+7") or a canonical cell ("48c:k4s1+48c:k7s1")');
  const shift = get('shift');
  return { N: intField('N', get('N'), 256), C: intField('C', get('C'), 4096), H: intField('H', get('H'), 1024), W: intField('W', get('W'), 1024), spec, ...(shift !== null && shift !== '' ? { shift: intField('shift', shift, 63, 0) } : {}) };
}

function formRequest(): Omit<TuneRequest, 'threads' | 'browser'> {
  const suite = $<HTMLSelectElement>('suite').value as PageSuite;
  const backends = PAGE_BACKENDS.filter((b) => $<HTMLInputElement>(`backend-${b}`).checked);
  const field = (name: string) => $<HTMLInputElement>(`custom-${name}`).value;
  return {
    suite,
    effort: $<HTMLSelectElement>('effort').value as PageEffort,
    backends,
    includeSoftware: $<HTMLInputElement>('include-software').checked,
    ...(suite === 'custom' ? { custom: customLayer(field) } : {}),
  };
}

function main(): void {
  const suiteSelect = $<HTMLSelectElement>('suite');
  suiteSelect.replaceChildren(...PAGE_SUITES.map((s) => new Option(s === 'custom' ? 'custom layer…' : s, s)));
  const effortSelect = $<HTMLSelectElement>('effort');
  effortSelect.replaceChildren(...Object.keys(PAGE_EFFORTS).map((s) => new Option(s, s)));
  const showCustom = () => void ($('custom').hidden = suiteSelect.value !== 'custom');
  suiteSelect.addEventListener('change', showCustom);
  void describeDevice();
  $('start').addEventListener('click', () => {
    try {
      run(formRequest(), false);
    } catch (e) {
      fail((e as Error).message);
    }
  });
  const q = new URLSearchParams(location.search);
  try {
    suiteSelect.value = choice('suite', q.get('suite'), PAGE_SUITES, 'smoke');
    showCustom();
    effortSelect.value = choice('effort', q.get('effort'), Object.keys(PAGE_EFFORTS) as PageEffort[], 'quick');
    const backends = (q.get('backends') ?? 'wasm,webgpu').split(',').map((b) => choice('backends', b, PAGE_BACKENDS, 'wasm'));
    for (const b of PAGE_BACKENDS) $<HTMLInputElement>(`backend-${b}`).checked = backends.includes(b);
    const includeSoftware = q.get('include-software') === '1';
    $<HTMLInputElement>('include-software').checked = includeSoftware;
    for (const k of ['N', 'C', 'H', 'W', 'spec', 'shift']) if (q.get(k) !== null) $<HTMLInputElement>(`custom-${k}`).value = q.get(k)!;
    const budgetText = q.get('budget');
    const budget = budgetText === null ? undefined : intField('budget', budgetText, 100_000);
    if (q.get('autorun') === '1') {
      const suite = suiteSelect.value as PageSuite;
      run({ suite, effort: effortSelect.value as PageEffort, backends: [...new Set(backends)], includeSoftware, ...(budget !== undefined ? { budget } : {}), ...(suite === 'custom' ? { custom: customLayer((k) => q.get(k)) } : {}) }, q.get('submit') === '1');
    }
  } catch (e) {
    fail((e as Error).message);
  }
}

main();
