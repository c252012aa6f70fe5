/**
 * Runs a suite on backends through evaluateCandidate: for each case, every selected NeoCell variant,
 * the depthwise baseline and the copy ceiling of the same backend, side by side in one run.
 */
import type { BackendRun } from '../kernels/registry.js';
import type { BenchCase, Suite } from '../suites/suite.js';
import { evaluateCandidate, type EvaluateOptions } from '../harness/evaluate.js';
import { candidateParams, type CandidateOptions } from '../harness/params.js';
import { makeProblemData } from '../harness/problem.js';
import type { ResultRecord } from '../harness/results.js';
import { softwareRenderer } from '../harness/software.js';
import type { KernelVariant, Params, Problem, ProblemData } from '../harness/types.js';

/** How runSuite measures: kernels to include, pinned parameters, parameter sweep, seed, plus the evaluation options (timing budget, checks). */
export interface BenchOptions extends EvaluateOptions, CandidateOptions {
  /** Only these kernel names (variants, baselines, ceilings); all when empty. */
  readonly kernels?: readonly string[];
  readonly seed?: number;
  /** Stops after the kernel in progress (Ctrl-C): the records measured so far are returned. */
  readonly signal?: AbortSignal;
  /** Kernels on software renderers (SwiftShader, llvmpipe) are verified, not timed: their times are not GPU performance. */
  readonly verifyOnlyOnSoftware?: boolean;
  /**
   * The parameter points to evaluate for a variant on a case's problem (e.g. the tuner's best per
   * variant); undefined falls back to defaults / allParams.
   */
  readonly paramsFor?: (c: BenchCase, v: KernelVariant, problem: Problem) => readonly Params[] | undefined;
}

export interface BenchProgress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly current: string;
}

function problemsOf(c: BenchCase, v: KernelVariant): Problem | undefined {
  return v.op === 'neocell' ? c.neocell : v.op === 'dwconv' ? c.dwconv : c.copy;
}

/** Runs every case of `suite` on every backend side by side: each kernel is verified against the float64 reference, then timed; disturbed samples are set aside and flagged. Returns one record per kernel and problem. */
export async function runSuite(suite: Suite, runs: readonly BackendRun[], opts: BenchOptions, progress?: (p: BenchProgress) => void): Promise<ResultRecord[]> {
  const jobs: { run: BackendRun; c: BenchCase; v: KernelVariant; problem: Problem; params: Params }[] = [];
  for (const c of suite.cases) {
    for (const run of runs) {
      for (const v of run.backend.variants) {
        if (opts.kernels?.length && !opts.kernels.includes(v.name)) continue;
        const problem = problemsOf(c, v);
        if (!problem) continue;
        const chosen = opts.paramsFor?.(c, v, problem) ?? candidateParams(v, problem, run.session, opts);
        for (const params of chosen) jobs.push({ run, c, v, problem, params });
      }
    }
  }
  const records: ResultRecord[] = [];
  // Data (and its float64 reference) is made once per problem and shared by every backend and
  // variant of the case; only the current case's tensors are kept, so memory stays flat.
  const dataCache = new Map<Problem, ProblemData>();
  let cacheCase: BenchCase | undefined;
  let failed = 0;
  for (const [i, j] of jobs.entries()) {
    if (opts.signal?.aborted) break;
    progress?.({ done: i, total: jobs.length, failed, current: `${j.c.name} ${j.run.entry.name}/${j.v.name}` });
    if (cacheCase !== j.c) {
      dataCache.clear();
      cacheCase = j.c;
    }
    let data = dataCache.get(j.problem);
    if (!data) {
      data = makeProblemData(j.problem, opts.seed ?? 1);
      dataCache.set(j.problem, data);
    }
    const verifyOnly = opts.verifyOnly || (opts.verifyOnlyOnSoftware === true && softwareRenderer(j.run.session.device) !== undefined);
    const r = await evaluateCandidate(j.run.session, j.v, j.problem, j.params, data, { ...opts, verifyOnly });
    if (r.state !== 'verified') failed++;
    records.push({ ...r, case: j.c.name, occurrences: j.c.occurrences });
  }
  progress?.({ done: jobs.length, total: jobs.length, failed, current: 'done' });
  return records;
}
