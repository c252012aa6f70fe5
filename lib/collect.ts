/**
 * Result collection for `neotune serve --collect DB`: tuning databases submitted by the page from
 * visitors' browsers are checked as untrusted input, merged into DB atomically (keyed by device,
 * as every tuning database is) and marked as measured in a visitor's browser; the leaderboard
 * shows the best kernel per device and problem with its speedup over the depthwise conv.
 *
 * A submission is refused, with the field named and nothing written, unless it is: JSON of at
 * most MAX_SUBMISSION_BYTES, a tuning database of the CLI's schema (Ajv) whose keys match their
 * contents, finite positive times, entries of a browser-measured device (a page's CPU or its
 * WebGPU adapter), problems that rebuild from their records, and candidates of known variants of
 * that backend with parameters inside the variant's declared domains.
 */
import { InputError } from '../core/errors.js';
import { checkDomain } from '../harness/params.js';
import { outputShape, problemFromRecord } from '../harness/problem.js';
import { softwareRenderer } from '../harness/software.js';
import type { DeviceInfo, KernelVariant, Problem } from '../harness/types.js';
import { backendEntry } from '../kernels/registry.js';
import { comparisonUnstable, type DbEntry, mergeDbs, parseDb, type TuningDb, TuningStore, winnerUnstable } from '../tuner/db.js';
import { entryWinnerAsTuned } from '../tuner/tune.js';
import { shippedModel } from '../tuner/shipped-space.js';

/** Larger bodies are refused unread (a quick tune of a stage suite is about 100 KB). */
export const MAX_SUBMISSION_BYTES = 2 * 2 ** 20;
/** Entries one submission may hold (the largest page suite has 8 problems × 2 operators × 2 backends). */
export const MAX_SUBMISSION_ENTRIES = 256;

/** The backends a page measures: WebAssembly on the visitor's CPU and WebGPU on its adapter. */
const PAGE_BACKENDS = ['cpu', 'webgpu-browser'] as const;

/** A refused submission: the HTTP status (4xx) and the field at fault. */
export class SubmissionError extends Error {
  constructor(
    readonly status: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const refuse = (field: string, message: string, status = 400) => new SubmissionError(status, field, message);

/**
 * A device whose limits are the most any adapter offers: parameter domains built from it hold
 * every value some device allows (the visitor's own limits are not known to the server).
 */
function widestDevice(backend: string, threads: number): DeviceInfo {
  const limits = { threads, maxStorageBufferBindingSize: 2 ** 32, maxBufferSize: 2 ** 32, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 65536, maxComputeWorkgroupsPerDimension: 65535, minStorageBufferOffsetAlignment: 256 };
  return { backend: backend as DeviceInfo['backend'], description: 'any', details: { threads }, limits, features: ['shader-f16', 'timestamp-query'] };
}

/** Every number in `v` is finite (JSON turns 1e999 into Infinity); the path of the first that is not. */
function nonFinite(v: unknown, path: string): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : path;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const bad = nonFinite(x, `${path}[${i}]`);
      if (bad) return bad;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const bad = nonFinite(x, `${path}.${k}`);
      if (bad) return bad;
    }
  }
  return undefined;
}

const variantsByBackend = new Map<string, readonly KernelVariant[]>();
async function variantsOf(backend: string): Promise<readonly KernelVariant[]> {
  let v = variantsByBackend.get(backend);
  if (!v) {
    const e = backendEntry(backend);
    v = e.load ? (await e.load()).variants : [];
    variantsByBackend.set(backend, v);
  }
  return v;
}

/** Checks one submitted entry (see the module comment); `at` names it in errors. */
async function checkEntry(e: DbEntry, at: string): Promise<void> {
  if (!(PAGE_BACKENDS as readonly string[]).includes(e.backend)) throw refuse(`${at}.backend`, `${at}.backend is ${JSON.stringify(e.backend)}; allowed: ${PAGE_BACKENDS.join(', ')} (what the page measures)`);
  if (!/ \| browser=[^|]+/.test(e.device)) throw refuse(`${at}.device`, `${at}.device does not name the browser it was measured in; allowed: a device key written by the neotune page (" | browser=…")`);
  let problem: Problem;
  try {
    problem = problemFromRecord(e.problem, `${at}.problem`);
  } catch (err) {
    if (err instanceof InputError) throw refuse(err.field, err.message);
    throw err;
  }
  const variants = await variantsOf(e.backend);
  const threads = Number(/ \| threads=(\d+)/.exec(e.device)?.[1] ?? 64);
  const device = widestDevice(e.backend, threads);
  for (const [ck, c] of Object.entries(e.candidates)) {
    const where = `${at}.candidates[${JSON.stringify(ck)}].config`;
    const v = variants.find((x) => x.name === c.config.variant);
    if (!v || v.op !== problem.op) {
      const allowed = variants.filter((x) => x.op === problem.op).map((x) => x.name);
      throw refuse(`${where}.variant`, `${where}.variant is ${JSON.stringify(c.config.variant)}; allowed for ${problem.op} on ${e.backend}: ${allowed.join(', ')}`);
    }
    const why = checkDomain(v.params(problem, device), c.config.params);
    if (why) throw refuse(`${where}.params`, `${where}.params: ${why}`);
    if (c.state === 'verified' && !(c.median_ms !== undefined && c.median_ms > 0 && (c.samples_ms ?? []).every((s) => s > 0))) {
      throw refuse(`${at}.candidates[${JSON.stringify(ck)}].median_ms`, `${at}.candidates[${JSON.stringify(ck)}]: a verified candidate needs a positive median_ms and positive samples_ms`);
    }
  }
  if (e.winner && !Object.values(e.candidates).some((c) => c.key === e.winner!.key && c.state === 'verified')) {
    throw refuse(`${at}.winner.key`, `${at}.winner.key ${JSON.stringify(e.winner.key)} is not a verified candidate of the entry`);
  }
}

/**
 * A submission's body (bytes as received) checked as described in the module comment; its
 * entries marked as measured in a visitor's browser. Throws SubmissionError.
 */
export async function checkSubmission(body: Uint8Array, contentType: string | undefined): Promise<TuningDb> {
  if (!/^application\/json\b/i.test(contentType ?? '')) throw refuse('content-type', `content-type is ${JSON.stringify(contentType ?? '')}; allowed: application/json`, 415);
  if (body.byteLength > MAX_SUBMISSION_BYTES) throw refuse('body', `the body has more than ${MAX_SUBMISSION_BYTES} bytes; allowed: a tuning database of at most ${MAX_SUBMISSION_BYTES} bytes`, 413);
  let db: TuningDb;
  try {
    db = parseDb(new TextDecoder('utf-8', { fatal: true }).decode(body), 'submission');
  } catch (err) {
    if (err instanceof InputError) throw refuse(err.field.replace(/^submission:?\s*/, '') || 'body', err.message);
    if (err instanceof TypeError) throw refuse('body', 'the body is not UTF-8 text; allowed: a JSON tuning database');
    throw err;
  }
  const entries = Object.entries(db.entries);
  if (entries.length === 0) throw refuse('entries', 'entries is empty; allowed: the entries of a tuning run');
  if (entries.length > MAX_SUBMISSION_ENTRIES) throw refuse('entries', `entries has ${entries.length} entries; allowed: at most ${MAX_SUBMISSION_ENTRIES}`);
  const bad = nonFinite(db.entries, 'entries');
  if (bad) throw refuse(bad, `${bad} is not a finite number; allowed: finite numbers`);
  for (const [k, e] of entries) {
    await checkEntry(e, `entries[${JSON.stringify(k)}]`);
    e.measured_in = 'visitor-browser';
  }
  return db;
}

/** Merges a checked submission into the database at `path` in one atomic step (mergeDbs: a new entry keeps the page's winner, one already stored gets a winner re-chosen over the union of candidates). */
export async function mergeSubmission(path: string, submission: TuningDb): Promise<{ entries: number }> {
  const store = await TuningStore.open(path, { write: true, field: 'collect' });
  const variants = new Map<string, readonly KernelVariant[]>();
  for (const b of new Set(Object.values(submission.entries).map((e) => e.backend))) variants.set(b, await variantsOf(b));
  // Ties broken as the page's tune breaks them: by the favourite of the shipped hubs' model
  // (trained here, on a first submission, rather than while the database is locked).
  const model = shippedModel();
  const rewin = (e: DbEntry) => entryWinnerAsTuned(e, variants.get(e.backend) ?? [], model);
  await store.update((disk) => {
    // Winners of entries the submission does not touch stay as they are.
    const touched = mergeDbs({ ...disk, entries: Object.fromEntries(Object.keys(submission.entries).filter((k) => disk.entries[k]).map((k) => [k, disk.entries[k]!])) }, submission, rewin);
    return { ...disk, entries: { ...disk.entries, ...touched.entries } };
  });
  return { entries: Object.keys(submission.entries).length };
}

/** One row of the leaderboard: a device's best NeoCell kernel for a problem and the depthwise conv it replaces. */
export interface LeaderboardRow {
  readonly device: string;
  readonly problem: string;
  readonly label: string;
  readonly kernel: string;
  /** Null on a software renderer (its times are not GPU performance). */
  readonly median_ms: number | null;
  readonly dwconv_ms: number | null;
  /** dwconv 7×7 time / NeoCell time on the same device, both tuned and stable; null when either is missing or unstable. */
  readonly speedup: number | null;
  /** Why a time of this row is not trustworthy (its timing unstable): the speedup is withheld. */
  readonly unstable?: string;
  readonly software?: string;
  readonly measured_in?: string;
}

/** The leaderboard of a database: devices × NeoCell problems with a winner. */
export function leaderboard(db: TuningDb): LeaderboardRow[] {
  const entries = Object.values(db.entries);
  const rows: LeaderboardRow[] = [];
  for (const e of entries) {
    if (e.problem.op !== 'neocell' || !e.winner) continue;
    const o = outputShape(problemFromRecord(e.problem));
    const software = softwareRenderer({ description: e.device });
    const dw = entries.find((d) => d.device === e.device && d.problem.op === 'dwconv' && d.problem.spec === 'dw7' && d.winner && d.problem.N === o.N && d.problem.C === o.C && d.problem.H === o.H && d.problem.W === o.W && d.problem.dtype === e.problem.dtype);
    const neo = software ? null : e.winner.median_ms;
    const base = software ? null : (dw?.winner?.median_ms ?? null);
    const unstable = comparisonUnstable(winnerUnstable(e), dw && winnerUnstable(dw));
    rows.push({
      device: e.device,
      problem: `${e.problem.N}x${e.problem.C}x${e.problem.H}x${e.problem.W} ${e.problem.spec}`,
      label: e.problem.label,
      kernel: `${e.winner.config.variant} ${Object.entries(e.winner.config.params).map(([k, v]) => `${k}=${v}`).join(',')}`.trim(),
      median_ms: neo,
      dwconv_ms: base,
      speedup: neo !== null && base !== null && !unstable ? base / neo : null,
      ...(software ? { software } : {}),
      ...(unstable && !software ? { unstable } : {}),
      ...(e.measured_in ? { measured_in: e.measured_in } : {}),
    });
  }
  return rows.sort((a, b) => (a.problem === b.problem ? (a.median_ms ?? Infinity) - (b.median_ms ?? Infinity) : a.problem < b.problem ? -1 : 1));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The leaderboard as a page (every text from a submission escaped). */
export function leaderboardHtml(rows: readonly LeaderboardRow[]): string {
  const ms = (v: number | null) => (v === null ? '–' : v.toPrecision(4));
  const body = rows
    .map((r) => {
      const time = r.software ? `<td colspan="3">software renderer (${escapeHtml(r.software)}): verified, times are not GPU performance</td>` : `<td class="n">${ms(r.median_ms)}</td><td class="n">${ms(r.dwconv_ms)}</td><td class="n">${r.speedup !== null ? `${r.speedup.toFixed(2)}×` : r.unstable ? `<span title="${escapeHtml(r.unstable)}">withheld: unstable timing</span>` : '–'}</td>`;
      return `<tr><td><b>${escapeHtml(r.label)}</b><br><small>${escapeHtml(r.problem)}</small></td><td>${escapeHtml(r.device)}${r.measured_in ? '<br><small>measured in a visitor\'s browser</small>' : ''}</td><td><code>${escapeHtml(r.kernel)}</code></td>${time}</tr>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>neotune leaderboard</title><link rel="icon" href="data:,">
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1d2330}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #dde;vertical-align:top;overflow-wrap:break-word}td:first-child{min-width:11rem}code{word-break:break-all}.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}</style></head>
<body><h1>neotune leaderboard</h1><p>The tuned NeoCell kernel of every device and problem collected by this server, with the depthwise 7×7 convolution it replaces, tuned on the same device (speedup = depthwise time / NeoCell time). <a href="/">Tune this machine</a> · <a href="/leaderboard.json">JSON</a></p>
<table><thead><tr><th>problem</th><th>device</th><th>best kernel</th><th class="n">median ms</th><th class="n">dwconv 7×7 ms</th><th class="n">speedup</th></tr></thead><tbody>
${body || '<tr><td colspan="6">no results yet</td></tr>'}
</tbody></table></body></html>
`;
}
