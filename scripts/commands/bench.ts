/** `neotune bench`: verify then time every kernel of a suite on the chosen backends, side by side. */
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { type BackendRun, type BenchOptions, openBackend, runSuite } from '../../harness/bench.js';
import { type Environment, environment } from '../../harness/environment.js';
import { busyWarning, type MachineLoad, measureLoad } from '../../harness/load.js';
import { checkCeilings, flagRecords, trusted } from '../../harness/plausibility.js';
import { DEFAULT_TARGET_REL } from '../../harness/stability.js';
import { RESULTS_SCHEMA, RESULTS_VERSION, type ResultFile, type ResultRecord, resultText } from '../../harness/results.js';
import { checkOutputPath, writeOrRescue } from '../../core/files.js';
import { dwconvNames, peerNames, summarize, type SummaryRow, summarizeVariants, trustedRatio } from '../../harness/summary.js';
import type { CeilingRecord, Dtype, Params } from '../../harness/types.js';
import { BACKEND_NAMES, BACKENDS, backendEntry } from '../../kernels/registry.js';
import { DTYPES } from '../../harness/problem.js';
import { DEFAULT_SUITE, resolveSuite, type Suite, SUITE_NAMES } from '../../suites/suite.js';
import { EXIT, MAX_TIME_MS, UnavailableError, action, fmt, formatTable, parseIntOption, progressBar } from '../cli-util.js';

export interface CommonBenchFlags {
  backend: string;
  suite: string;
  batch: number;
  dtype: string;
  kernels?: string;
  params?: string;
  time: number;
  seed: number;
  /** Software renderers' times are results too (default: flagged, correctness only). */
  includeSoftware?: boolean;
}

/** Opens the requested backends; "auto" = every available one whose kernels exist (unavailable ones are reported). */
export async function openBackends(spec: string, log: (s: string) => void, opts: { tuning?: boolean } = {}): Promise<BackendRun[]> {
  if (spec === 'auto') {
    const runs: BackendRun[] = [];
    for (const e of BACKENDS) {
      if (!e.load) {
        log(`backend ${e.name}: skipped (kernels not implemented yet)`);
        continue;
      }
      if (opts.tuning && e.notAutoTuned) {
        log(`backend ${e.name}: not tuned by --backend auto (${e.notAutoTuned})`);
        continue;
      }
      const a = await e.probe();
      if (!a.available) {
        log(`backend ${e.name}: skipped (unavailable: ${a.reason})`);
        continue;
      }
      runs.push(await openBackend(e));
    }
    return runs;
  }
  const names = spec.split(',').map((s) => s.trim());
  for (const n of names) if (!BACKEND_NAMES.includes(n as never)) throw new InputError('backend', n, `auto, ${BACKEND_NAMES.join(', ')}`);
  const runs: BackendRun[] = [];
  for (const n of names) {
    try {
      runs.push(await openBackend(backendEntry(n)));
    } catch (e) {
      throw new UnavailableError((e as Error).message);
    }
  }
  return runs;
}

/** --kernels names must name kernels of the opened backends (a typo would silently run nothing). */
export function checkKernelNames(kernels: readonly string[] | undefined, runs: readonly BackendRun[]): void {
  if (!kernels) return;
  const known = [...new Set(runs.flatMap((r) => r.backend.variants.map((v) => v.name)))];
  for (const k of kernels) if (!known.includes(k)) throw new InputError('kernels', k, `kernels of ${runs.map((r) => r.entry.name).join(', ')}: ${known.join(', ')}`);
}

/** --params names must be parameters of some kernel of the run (`ordr=BA` would silently pin nothing). */
export function checkPinnedNames(pin: Params | undefined, runs: readonly BackendRun[], suite: Suite): void {
  if (!pin) return;
  const known = new Set<string>();
  for (const r of runs)
    for (const v of r.backend.variants)
      for (const c of suite.cases)
        for (const p of [c.neocell, c.dwconv]) if (v.op === p.op) for (const d of v.params(p as never, r.session.device)) known.add(d.name);
  for (const k of Object.keys(pin)) if (!known.has(k)) throw new InputError('params', k, `parameters of these kernels: ${[...known].sort().join(', ')}`);
}

/** --params 'order=BA,tile=8' or a JSON object. */
export function parsePin(text: string | undefined): Params | undefined {
  if (!text) return undefined;
  if (text.trim().startsWith('{')) {
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Params;
    } catch {
      /* reported below */
    }
    throw new InputError('params', text, 'a JSON object or key=value pairs separated by commas');
  }
  const out: Record<string, string | number | boolean> = {};
  for (const kv of text.split(',')) {
    const m = /^\s*([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*$/.exec(kv);
    if (!m) throw new InputError('params', kv, 'key=value pairs separated by commas, e.g. order=BA');
    const v = m[2]!;
    out[m[1]!] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

export function addCommonBenchOptions(cmd: Command, defaults: { suite: string }): Command {
  return cmd
    .option('-b, --backend <list>', `backends, comma-separated: auto or ${BACKEND_NAMES.join(', ')}`, 'auto')
    .option('-s, --suite <name>', `suite: ${SUITE_NAMES.join(', ')} (neonext-<model>[@<res>][-stages])`, defaults.suite)
    .option('-n, --batch <n>', 'batch size N', parseIntOption('batch', undefined, 4096), 1)
    .option('--dtype <type>', `element type of every problem: ${DTYPES.join(', ')} (kernels that do not compute it are recorded as rejected, with the reason)`, 'float32')
    .option('-k, --kernels <list>', 'only these kernel names (comma-separated)')
    .option('-p, --params <spec>', 'pin parameter values for every kernel that has them: key=value,… or JSON (bypasses defaults and tuning)')
    .option('-t, --time <ms>', 'measurement time per candidate, ms', parseIntOption('time', `an integer number of milliseconds from 1 to ${MAX_TIME_MS}`, MAX_TIME_MS), 300)
    .option('--seed <n>', 'seed of the random problem data', parseIntOption('seed', undefined, 2 ** 32 - 1, 0), 1)
    .option('--include-software', 'treat software renderers (SwiftShader, llvmpipe…) as devices to tune and compare; by default they are verified, not tuned, and their times are flagged as not GPU performance');
}

/**
 * Opens the backends, optionally runs `prepare` on them (the main job tunes there and returns which
 * parameter points to report), runs the suite side by side, measures the ceilings, closes.
 */
export async function benchRun(flags: CommonBenchFlags, extra: Partial<BenchOptions>, label: string, prepare?: (suite: Suite, runs: BackendRun[], load: MachineLoad) => Promise<Partial<BenchOptions>>) {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const suite = resolveSuite(flags.suite, { batch: flags.batch, dtype: flags.dtype as Dtype });
  const pin = parsePin(flags.params);
  const before = await checkLoad(log);
  const runs = await openBackends(flags.backend, log, { tuning: prepare !== undefined });
  if (runs.length === 0) throw new UnavailableError('no backend with kernels is available on this machine');
  try {
    checkKernelNames(flags.kernels?.split(',').map((s) => s.trim()), runs);
    checkPinnedNames(pin, runs, suite);
  } catch (e) {
    for (const r of runs) await r.session.close();
    throw e;
  }
  // Adaptive: disturbed, multimodal or imprecise timings are re-measured up to 4× the time.
  const measure = { timeMs: flags.time, minSamples: 10, warmupMs: Math.min(150, flags.time), adaptive: { targetRelHalfWidth: DEFAULT_TARGET_REL, maxMs: 4 * flags.time } };
  const kernels = flags.kernels?.split(',').map((s) => s.trim());
  let bar: ReturnType<typeof progressBar> | undefined;
  try {
    const prepared = prepare ? await prepare(suite, runs, before) : {};
    bar = progressBar(label);
    // Ceilings are measured before and after the kernels: the best clean measurement counts, and
    // one disturbed by a busy moment is outvoted or flagged (harness/plausibility.ts).
    const measured: CeilingRecord[] = [];
    const measureCeilings = async () => {
      if (extra.verifyOnly) return;
      for (const r of runs) {
        bar!.update(0, 1, 0, `${r.entry.name} ceilings`);
        measured.push(...((await r.session.ceilings?.()) ?? []));
      }
    };
    await measureCeilings();
    const raw = await runSuite(suite, runs, { ...extra, ...prepared, kernels, pin, seed: flags.seed, measure }, (p) => bar!.update(p.done, p.total, p.failed, p.current));
    await measureCeilings();
    const ceilings = checkCeilings(measured);
    const records = flagRecords(raw, ceilings, { includeSoftware: flags.includeSoftware ?? false });
    const after = await measureLoad();
    if (after.busy && !before.busy) log(`neotune: ${busyWarning(after)} (at the end of the run)`);
    return { suite, runs, records, ceilings, load: { before, after } };
  } finally {
    bar?.stop();
    for (const r of runs) await r.session.close();
  }
}

export function resultFile(records: ResultRecord[], ceilings: CeilingRecord[], command: string, load?: Environment['load']): ResultFile {
  return { schema: RESULTS_SCHEMA, version: RESULTS_VERSION, created: new Date().toISOString(), command, environment: environment(load), records, ceilings };
}

/** Measures how busy the machine is now and says so at the top of the output when it is. */
export async function checkLoad(log: (s: string) => void): Promise<MachineLoad> {
  const load = await measureLoad();
  const warning = busyWarning(load);
  if (warning) log(`neotune: ${warning}`);
  return load;
}

function paramText(r: ResultRecord): string {
  const kv = Object.entries(r.params).map(([k, v]) => `${k}=${v}`);
  return kv.length ? ` ${kv.join(',')}` : '';
}

/** Clean samples / all samples of a timing (disturbed ones set aside). */
function samplesCell(r: ResultRecord | undefined): string {
  if (!r?.quality) return r?.samples_ms ? String(r.samples_ms.length) : '–';
  return `${r.quality.n_clean}/${r.quality.n_total}`;
}

/**
 * The summary as header + string cells: fastest NeoCell kernel, its spread (p10–p90, clean/all
 * samples), useful GFLOP/s, % of the compute peak at the same thread count, time / copy, and the
 * speedup over every depthwise conv kernel. A figure that cannot be trusted is never printed:
 * "?" stands in its place and withheldLines() says why; a flagged time carries "!".
 */
export function summaryCells(rows: readonly SummaryRow[], withParams: boolean): { header: string[]; cells: string[][] } {
  const dws = dwconvNames(rows);
  const peers = peerNames(rows);
  const header = ['case', 'backend', 'N×C×H×W', 'cell', 'NeoCell kernel', 'median ms', 'p10–p90 ms', 'clean/all', 'GFLOP/s', '% peak', 'time/copy', ...[...dws, ...peers].map((d) => `vs ${d}`), 'failed'];
  const cells = rows.map((s) => {
    const ok = s.best !== undefined && trusted(s.best);
    const refused = (v: number | undefined, text: string) => (v !== undefined ? text : s.best?.median_ms !== undefined ? '?' : '–');
    return [
      s.case,
      s.backend,
      s.shape,
      s.label,
      s.best ? `${s.best.kernel}${withParams ? paramText(s.best) : ''}` : 'none verified',
      s.best?.median_ms !== undefined ? `${fmt(s.best.median_ms, 4)}${ok ? '' : ' !'}` : '–',
      s.best?.p10_ms !== undefined ? `${fmt(s.best.p10_ms, 4)}–${fmt(s.best.p90_ms, 4)}` : '–',
      samplesCell(s.best),
      refused(s.gflops, fmt(s.gflops, 1)),
      refused(s.peakFraction, `${fmt(100 * (s.peakFraction ?? 0), 0)} %`),
      refused(s.xCopy, `${fmt(s.xCopy, 1)}×`),
      ...[...dws.map((d) => s.dwconvs.get(d)), ...peers.map((d) => s.peers.get(d))].map((r) => {
        if (r?.median_ms === undefined || s.best?.median_ms === undefined) return '–';
        const ratio = trustedRatio(r, s.best);
        return ratio !== undefined ? `${fmt(ratio, 2)}×` : '?';
      }),
      String(s.failed),
    ];
  });
  return { header, cells };
}

/** Why figures were withheld ("?" and "!" in the tables), one line each, without repeats. */
export function withheldLines(rows: readonly SummaryRow[]): string[] {
  return [...new Set(rows.flatMap((r) => r.withheld.map((w) => `${r.case} ${r.backend}: ${w}`)))];
}

export function ceilingLines(ceilings: readonly CeilingRecord[]): string[] {
  return ceilings.map((c) => {
    const params = Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(',');
    const q = c.quality ? `, ${c.quality.n_clean}/${c.quality.n_total} clean samples` : '';
    const runs = c.measurements && c.measurements.length > 1 ? ` (measured ${c.measurements.map((m) => fmt(m, 1)).join(' and ')})` : '';
    return `${c.backend} ${c.name} ${params}: ${fmt(c.gflops, 1)} GFLOP/s${runs}${q}${c.flags?.length ? ` — NOT USED: ${c.flags.join('; ')}` : ''}`;
  });
}

export function summaryTable(records: readonly ResultRecord[], ceilings: readonly CeilingRecord[] = []): string {
  const rows = summarize(records, ceilings);
  const best = summaryCells(rows, true);
  const variantRows = summarizeVariants(records, ceilings);
  const variants = summaryCells(variantRows, false);
  const withheld = withheldLines([...rows, ...variantRows]);
  const peaks = ceilingLines(ceilings);
  return [
    'Fastest NeoCell kernel per problem (speedups: depthwise conv time / NeoCell time, measured in this run)',
    formatTable(best.header, best.cells),
    '',
    'Each NeoCell variant at its fastest parameter point',
    formatTable(variants.header, variants.cells),
    ...(withheld.length ? ['', 'Withheld figures ("?": not printed; "!": a time that cannot be used as a result):', ...withheld.map((w) => `  ${w}`)] : []),
    ...(peaks.length ? ['', 'Ceilings measured in this run:', ...peaks.map((p) => `  ${p}`)] : []),
  ].join('\n');
}

/**
 * Exit status of a bench-like run: 3 when a kernel failed verification or crashed; 2 when every
 * candidate of some backend/case was rejected (the pinned parameters are invalid there); else 0.
 */
export function runExitCode(records: readonly ResultRecord[]): number {
  if (records.some((r) => r.state === 'mismatch' || r.state === 'failed')) return EXIT.KERNEL_FAILURES;
  const groups = new Map<string, ResultRecord[]>();
  for (const r of records) {
    const key = `${r.case}\u0000${r.backend}\u0000${r.problem.op}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].some((g) => g.every((r) => r.state === 'rejected')) ? EXIT.USAGE : EXIT.OK;
}

export function failureLines(records: readonly ResultRecord[]): string[] {
  return records.filter((r) => !r.verified).map((r) => `${r.state}: ${r.backend}/${r.kernel} ${JSON.stringify(r.params)} on ${r.case ?? r.problem.label}: ${r.error}`);
}

export function registerBench(program: Command): void {
  const cmd = program.command('bench').description('verify every kernel against the float64 reference, then time it; NeoCell next to depthwise conv and copy, side by side');
  addCommonBenchOptions(cmd, { suite: DEFAULT_SUITE })
    .option('--all-params', "evaluate every point of each variant's parameter space, not just its defaults")
    .option('--verify-only', 'verify without timing')
    .option('--json <file>', 'write the versioned result file (records with raw samples) to FILE')
    .action(
      action(async (o: CommonBenchFlags & { allParams?: boolean; verifyOnly?: boolean; json?: string }) => {
        if (o.json) checkOutputPath('json', o.json);
        const { records, ceilings, load } = await benchRun(o, { allParams: o.allParams, verifyOnly: o.verifyOnly }, 'bench');
        if (o.json) writeOrRescue('json', o.json, resultText(resultFile(records, ceilings, `neotune ${process.argv.slice(2).join(' ')}`, load)));
        const warning = busyWarning(load.before);
        process.stdout.write((warning ? `WARNING: ${warning}\n\n` : '') + summaryTable(records, ceilings) + '\n');
        const fails = failureLines(records);
        if (fails.length) process.stdout.write(`\n${fails.length} candidate(s) not verified:\n${fails.join('\n')}\n`);
        if (o.json) process.stdout.write(`\nresults: ${o.json}\n`);
        return runExitCode(records);
      }),
    );
}
