/**
 * The neotune page: tunes NeoCell kernels on the visitor's own machine. It shows the device, lets
 * the visitor pick a suite and an effort (or takes them from the URL: `?suite=smoke&backends=wasm
 * &effort=quick&autorun=1`, and `budget=N` evaluations per problem), runs the tuner in a Web Worker (tune-worker.ts) with live progress,
 * then shows the winners and offers the tuning database (the CLI's format: `neotune db-merge`
 * takes it). When a run ends, `window.neotune` is `{ done: true, db, results }` (or `{ done: true,
 * error }`), for scripts driving the page.
 */
import { PAGE_EFFORTS, PAGE_SUITES, type PageEffort, type PageSuite, type TuneRequest, type WorkerMessage } from './protocol.js';

const BACKENDS = ['wasm', 'webgpu'] as const;

interface PageState {
  done: boolean;
  db?: unknown;
  results?: { problem: string; winner: string | null; median_ms: number | null; evaluated: number; failed: number }[];
  error?: string;
}

const state: PageState = { done: false };
(globalThis as unknown as { neotune: PageState }).neotune = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const text = (id: string, s: string) => void ($(id).textContent = s);

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
    rows.push(['GPU limits', `workgroup ${adapter.limits.maxComputeWorkgroupSizeX}, storage buffer ${(adapter.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB`]);
  } else rows.push(['GPU', gpu ? 'no WebGPU adapter' : 'no WebGPU in this browser']);
  const table = $('device');
  table.replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement('tr');
    for (const [tag, s] of [['th', k], ['td', v]] as const) {
      const cell = document.createElement(tag);
      cell.textContent = s;
      tr.append(cell);
    }
    return tr;
  }));
}

/** A choice from the URL (or the form), checked against what the page offers. */
function choice<T extends string>(name: string, value: string | null, allowed: readonly T[], fallback: T): T {
  if (value === null || value === '') return fallback;
  if (!allowed.includes(value as T)) throw new Error(`${name}=${value} is not offered; allowed: ${allowed.join(', ')}`);
  return value as T;
}

function fail(message: string): void {
  state.error = message;
  state.done = true;
  text('status', `error: ${message}`);
}

function run(suite: PageSuite, effort: PageEffort, backends: readonly string[], budget?: number): void {
  if (!backends.includes('wasm')) return fail('this page tunes WebAssembly kernels on this CPU (backends=wasm); tuning WebGPU kernels in the page is not available yet');
  $<HTMLButtonElement>('start').disabled = true;
  state.done = false;
  state.results = [];
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
      text('status', `${m.problem}: candidate ${m.done}/${m.total}${m.failed ? `, ${m.failed} failed` : ''}, best ${m.best_ms === null ? '–' : `${m.best_ms.toFixed(4)} ms`}${eta}`);
    } else if (m.type === 'tuned') {
      state.results!.push({ problem: m.problem, winner: m.winner?.key ?? null, median_ms: m.winner?.median_ms ?? null, evaluated: m.evaluated, failed: m.failed });
      const tr = document.createElement('tr');
      for (const s of [m.problem, m.key, m.winner?.key ?? 'none verified', m.winner ? m.winner.median_ms.toFixed(4) : '–', String(m.evaluated), String(m.failed)]) {
        const td = document.createElement('td');
        td.textContent = s;
        tr.append(td);
      }
      $('results').append(tr);
    } else if (m.type === 'done') {
      worker.terminate();
      state.db = m.db;
      $<HTMLProgressElement>('progress').value = 1;
      const link = $<HTMLAnchorElement>('download');
      link.href = URL.createObjectURL(new Blob([JSON.stringify(m.db)], { type: 'application/json' }));
      link.hidden = false;
      text('status', `done in ${((performance.now() - started) / 1000).toFixed(0)} s on ${m.device}`);
      state.done = true;
      $<HTMLButtonElement>('start').disabled = false;
    } else {
      worker.terminate();
      fail(m.message);
      $<HTMLButtonElement>('start').disabled = false;
    }
  };
  worker.onerror = (e) => fail(`the tuning worker stopped: ${e.message}`);
  worker.postMessage({ suite, effort, threads, browser: browserName(), ...(budget !== undefined ? { budget } : {}) } satisfies TuneRequest);
}

function main(): void {
  const suiteSelect = $<HTMLSelectElement>('suite');
  suiteSelect.replaceChildren(...PAGE_SUITES.map((s) => new Option(s, s)));
  const effortSelect = $<HTMLSelectElement>('effort');
  effortSelect.replaceChildren(...Object.keys(PAGE_EFFORTS).map((s) => new Option(s, s)));
  void describeDevice();
  $('start').addEventListener('click', () => run(suiteSelect.value as PageSuite, effortSelect.value as PageEffort, ['wasm']));
  const q = new URLSearchParams(location.search);
  try {
    suiteSelect.value = choice('suite', q.get('suite'), PAGE_SUITES, 'smoke');
    effortSelect.value = choice('effort', q.get('effort'), Object.keys(PAGE_EFFORTS) as PageEffort[], 'quick');
    const backends = (q.get('backends') ?? 'wasm').split(',').map((b) => choice('backends', b, BACKENDS, 'wasm'));
    const budgetText = q.get('budget');
    const budget = budgetText === null ? undefined : Number(budgetText);
    if (budget !== undefined && !(Number.isInteger(budget) && budget >= 1 && budget <= 100_000)) throw new Error(`budget=${budgetText} is not offered; allowed: an integer from 1 to 100000 (evaluations per problem)`);
    if (q.get('autorun') === '1') run(suiteSelect.value as PageSuite, effortSelect.value as PageEffort, backends, budget);
  } catch (e) {
    fail((e as Error).message);
  }
}

main();
