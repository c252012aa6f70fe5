/**
 * Running a suite, as the CLI's bench and run do: open the backends, check the kernel names and
 * pinned parameters against them, measure the ceilings before and after, verify and time every
 * kernel side by side, flag what cannot be trusted. Progress and messages go to callbacks.
 */
import { InputError, UnavailableError } from '../core/errors.js';
import { type BenchOptions, type BenchProgress, runSuite } from './bench.js';
import { type Environment, environment } from '../harness/environment.js';
import { busyWarning, type MachineLoad, measureLoad } from '../harness/load.js';
import { checkCeilings, flagRecords } from '../analysis/plausibility.js';
import { RESULTS_SCHEMA, RESULTS_VERSION, type ResultFile, type ResultRecord } from '../harness/results.js';
import { DEFAULT_TARGET_REL } from '../harness/stability.js';
import type { CeilingRecord, Dtype, Params } from '../harness/types.js';
import { BACKEND_NAMES, BACKENDS, type BackendRun, backendEntry, openBackend } from '../kernels/registry.js';
import { resolveSuite, type Suite } from '../suites/suite.js';

/** What a suite run is asked for (the CLI's bench and run options, parsed). */
export interface BenchRequest {
  /** "auto" (every available backend) or backend names, comma-separated. */
  readonly backend: string;
  /** A suite name or suite file (resolveSuite). */
  readonly suite: string;
  readonly batch: number;
  readonly dtype: Dtype;
  /** Only these kernels (checked against the opened backends). */
  readonly kernels?: readonly string[];
  /** Parameter values pinned for every kernel that has them (checked against the run's kernels). */
  readonly pin?: Params;
  /** Measurement time per kernel, ms. */
  readonly timeMs: number;
  readonly seed: number;
  /** Software renderers' times are results too (default: flagged, correctness only). */
  readonly includeSoftware?: boolean;
  /** Skip the ceilings (compute peak, copy roofline): the paired rounds of `compare --run` need the kernels only. */
  readonly noCeilings?: boolean;
}

/** Checks a --backend list (auto, or names of BACKEND_NAMES) without opening anything: exit 2 naming the bad name. */
export function checkBackendSpec(spec: string): void {
  if (spec === 'auto') return;
  for (const n of spec.split(',').map((s) => s.trim())) if (!BACKEND_NAMES.includes(n as never)) throw new InputError('backend', n, `auto, ${BACKEND_NAMES.join(', ')}`);
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
  checkBackendSpec(spec);
  const names = spec.split(',').map((s) => s.trim());
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

/**
 * Opens the backends, optionally runs `prepare` on them (the main job tunes there and returns which
 * parameter points to report), runs the suite side by side, measures the ceilings, closes.
 */
export async function benchRun(
  request: BenchRequest,
  extra: Partial<BenchOptions>,
  o: {
    /** Messages for the user (unavailable backends, a busy machine). */
    log: (s: string) => void;
    /** Called as kernels complete (progress bars). */
    progress?: (p: BenchProgress) => void;
    /** Runs on the opened backends first (the main job tunes there) and returns which parameter points to measure. */
    prepare?: (suite: Suite, runs: BackendRun[], load: MachineLoad) => Promise<Partial<BenchOptions>>;
  },
) {
  const { log, prepare } = o;
  const { pin, kernels } = request;
  const suite = resolveSuite(request.suite, { batch: request.batch, dtype: request.dtype });
  const before = await checkLoad(log);
  const runs = await openBackends(request.backend, log, { tuning: prepare !== undefined });
  if (runs.length === 0) throw new UnavailableError('no backend with kernels is available on this machine');
  try {
    checkKernelNames(kernels, runs);
    checkPinnedNames(pin, runs, suite);
  } catch (e) {
    for (const r of runs) await r.session.close();
    throw e;
  }
  // Adaptive: disturbed, multimodal or imprecise timings are re-measured up to 4× the time.
  const measure = { timeMs: request.timeMs, minSamples: 10, warmupMs: Math.min(150, request.timeMs), adaptive: { targetRelHalfWidth: DEFAULT_TARGET_REL, maxMs: 4 * request.timeMs } };
  try {
    const prepared = prepare ? await prepare(suite, runs, before) : {};
    // Ceilings are measured before and after the kernels: the best clean measurement counts, and
    // one disturbed by a busy moment is outvoted or flagged (analysis/plausibility.ts).
    const measured: CeilingRecord[] = [];
    const measureCeilings = async () => {
      if (extra.verifyOnly || request.noCeilings) return;
      for (const r of runs) {
        o.progress?.({ done: 0, total: 1, failed: 0, current: `${r.entry.name} ceilings` });
        measured.push(...((await r.session.ceilings?.()) ?? []));
      }
    };
    await measureCeilings();
    // Every kernel that has a counting build gets its operations counted (the exact lane of compare).
    const raw = await runSuite(suite, runs, { count: true, ...extra, ...prepared, ...(kernels ? { kernels } : {}), ...(pin ? { pin } : {}), seed: request.seed, measure }, o.progress);
    // Stopped by Ctrl-C: the ceilings measured before the kernels stand alone.
    if (!extra.signal?.aborted) await measureCeilings();
    const ceilings = checkCeilings(measured);
    const records = flagRecords(raw, ceilings, { includeSoftware: request.includeSoftware ?? false });
    const after = await measureLoad();
    if (after.busy && !before.busy) log(`neotune: ${busyWarning(after)} (at the end of the run)`);
    return { suite, runs, records, ceilings, load: { before, after } };
  } finally {
    for (const r of runs) await r.session.close();
  }
}

/** What a result file says about its run besides the records: load, Ctrl-C, the suite, the tuning before it. */
export interface RunFacts {
  load?: Environment['load'];
  interrupted?: boolean;
  suite?: Suite;
  tuning?: ResultFile['tuning'];
}

/** A result file of records and ceilings measured in one run. */
export function resultFile(records: ResultRecord[], ceilings: CeilingRecord[], command: string, facts: RunFacts = {}): ResultFile {
  const { load, interrupted, suite, tuning } = facts;
  return {
    schema: RESULTS_SCHEMA,
    version: RESULTS_VERSION,
    created: new Date().toISOString(),
    command,
    environment: environment(load),
    records,
    ceilings,
    ...(interrupted ? { interrupted } : {}),
    ...(suite ? { suite: { name: suite.name, description: suite.description, ...(suite.network ? { network: { ...suite.network } } : {}) } } : {}),
    ...(tuning ? { tuning } : {}),
  };
}

/** Measures how busy the machine is now and says so at the top of the output when it is. */
export async function checkLoad(log: (s: string) => void): Promise<MachineLoad> {
  const load = await measureLoad();
  const warning = busyWarning(load);
  if (warning) log(`neotune: ${warning}`);
  return load;
}
