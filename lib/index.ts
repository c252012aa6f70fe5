/**
 * `neotune`: the Node API. Everything the CLI does, as functions: suites, problems, backends,
 * verified and timed runs, tuning into a database, selection, export, comparison and reports.
 * The runtime that runs tuned kernels in an application is `neotune/runtime`.
 *
 * @example
 * import { resolveSuite, openBackend, backendEntry, runSuite, TuningStore, tuneProblem, STRATEGIES } from 'neotune';
 * const suite = resolveSuite('smoke');
 * const run = await openBackend(backendEntry('cpu'));
 * const records = await runSuite(suite, [run], { measure: { timeMs: 100, minSamples: 10, warmupMs: 50 } });
 * await run.session.close();
 */

// Problems and the operator.
/** A NeoCell problem (N, C, H, W, spec as a kernel string or channel specs, shifts, dtype), validated. */
export { neoCellProblem, dwconvProblem, copyProblem, problemKey, problemRecord, makeProblemData } from '../harness/problem.js';
/** Parse and validate a NeoCell spec; the canonical text of a cell. */
export { buildCell, formatCell, describeCell, type CellSpec, type ChannelSpecInput } from '../core/spec.js';
/** The float64 reference outputs every kernel is verified against. */
export { neoCellReference, depthwiseConvReference } from '../core/reference.js';
/** Bad input, named: `field`, `value`, `allowed`. */
export { InputError } from '../core/errors.js';

// Suites.
/** A named suite (`neonext-t`, `smoke`, sweeps) or a suite file (`.json`, `.yaml`, schema-checked). */
export { resolveSuite, SUITE_NAMES, type Suite, type BenchCase } from '../suites/suite.js';
/** A suite file, validated against its JSON Schema. */
export { loadSuiteFile as loadSuite, SUITE_SCHEMA } from '../suites/file.js';

// Backends and runs.
/** The backends (CPU, WebGPU in Node and Chromium, gpu.js), each with a probe and its kernels. */
export { BACKENDS, BACKEND_NAMES, backendEntry, openBackend, type BackendEntry, type BackendRun } from '../kernels/registry.js';
/** Open a backend; run a suite side by side (every kernel verified before it is timed). */
export { runSuite, type BenchOptions } from './bench.js';
/** One candidate: generate, verify against the reference, time; its result record. */
export { evaluateCandidate } from '../harness/evaluate.js';
/** A variant's kernel on a session (create = compile ∘ generate): for running one kernel outside evaluateCandidate. */
export { createKernel } from '../harness/compile.js';
/** Result files (`bench --out`, `run`): write, and read with validation. */
export { readResults, writeResults, type ResultFile, type ResultRecord, RESULTS_SCHEMA, RESULTS_VERSION } from '../harness/results.js';
/** The fastest kernel per problem and its ratios to the baselines. */
export { summarize } from '../analysis/summary.js';
export type { Problem, NeoCellProblem, KernelVariant, KernelInstance, BackendSession, Params, MeasureOptions } from '../harness/types.js';

// Tuning.
/** The tuning database: snapshot + journal, locked, validated on load. */
export { TuningStore, mergeDbs, emptyDb, deviceFingerprint, type TuningDb, type DbEntry, type CandidateRecord } from '../tuner/db.js';
/** Tune one problem: strategies propose, every candidate is verified and timed, the winner chosen with statistics. */
export { tuneProblem, entryWinner, type TuneOptions, type TuneResult } from '../tuner/tune.js';
/** Search strategies (exhaustive, random, annealing, tpe). */
export { STRATEGIES, STRATEGY_NAMES, strategyByName } from '../tuner/strategies/index.js';
/** Which kernel for a problem on a device, from a tuning database. */
export { select, type Selection } from '../tuner/select.js';
/** Export for applications: dispatch table, ES module, self-contained bundle; device keys. */
export { dispatchTable, dispatchModule } from '../tuner/dispatch.js';
export { bundleText, moduleText, moduleDts, pickDevice, tunedDevices, EXPORT_FORMATS } from '../tuner/export.js';

// Comparison and reports.
/** Compare two result files (regressions with statistics and run-to-run noise). */
export { compareResults, type Comparison } from '../analysis/compare.js';
/** report.html (charts), .csv, .json and PNG/PDF renderings from a result file. */
export { writeReport, reportData } from '../reports/report.js';
