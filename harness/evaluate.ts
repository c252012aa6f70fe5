/**
 * One candidate's lifecycle, identical for every backend:
 *   check params → create (generate + compile) → prepare → poison output → run → read back →
 *   verify against the float64 oracle → (only then) measure → dispose.
 * Any failure becomes a record with its reason; nothing unverified is ever timed.
 */
import { countOperations, createKernel } from './compile.js';
import { whyNot } from './params.js';
import { problemCosts, problemRecord } from './problem.js';
import type { RecordBase, ResultRecord, TimingFields, VerifiedRecord } from './results.js';
import { processProbe } from './probe.js';
import { softwareRenderer } from './software.js';
import { assessTiming, DEFAULT_TARGET_REL } from './stability.js';
import { quantile } from './stats.js';
import { measureHostClock } from './timing.js';
import type { BackendSession, DeviceTiming, KernelInstance, KernelVariant, MeasureOptions, Params, Problem, ProblemData } from './types.js';
import { verifyOutput } from './verify.js';

export const DEFAULT_MEASURE: MeasureOptions = { timeMs: 300, minSamples: 20, warmupMs: 150, adaptive: { targetRelHalfWidth: DEFAULT_TARGET_REL, maxMs: 1200 } };

export interface EvaluateOptions {
  readonly measure?: MeasureOptions;
  /** Verify only (tests): skip timing. */
  readonly verifyOnly?: boolean;
  /** The exact lane: also run the kernel's counting build once and record its operations by class. */
  readonly count?: boolean;
}

/**
 * Static counts of generated code: non-empty lines (statements of generated JS, instructions of a
 * WASM listing, lines of WGSL) and memory operations (WASM load/store instructions, indexed
 * accesses in JS/WGSL). Deterministic: a change that makes a kernel do more work shows here even
 * when its timing is lost in noise.
 */
export function codeProxies(source: string, executedMacs: number | null): NonNullable<ResultRecord['proxies']> {
  const lines = source.split('\n').filter((l) => l.trim() !== '');
  const wasm = /^\(module/.test(source);
  const memoryOps = wasm ? lines.filter((l) => /\.(load|store)\w*/.test(l)).length : (source.match(/\w\[[^\]]+\]/g) ?? []).length;
  return { executed_macs: executedMacs, code_lines: lines.length, code_memory_ops: memoryOps };
}

/** A kernel source's hash as databases record it (candidates are keyed by it: a changed generator never reuses a stale timing). */
export async function sourceHash(source: string): Promise<string> {
  // Web Crypto (Node and browsers alike): the first 8 bytes of the SHA-256, in hex.
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(source));
  return [...new Uint8Array(digest, 0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function medians(t: DeviceTiming): NonNullable<ResultRecord['without_readback']> {
  const s = [...t.samples_ms];
  return { median_ms: quantile(s, 0.5), p10_ms: quantile(s, 0.1), p90_ms: quantile(s, 0.9), method: t.method };
}

/** One candidate (variant and parameters) on one problem: rejected if its parameters are invalid, else generated, compiled, verified against the reference, and timed unless it fails verification. */
export async function evaluateCandidate(
  session: BackendSession,
  variant: KernelVariant,
  problem: Problem,
  params: Params,
  data: ProblemData,
  opts: EvaluateOptions = {},
): Promise<ResultRecord> {
  const costs = problemCosts(problem);
  const base: RecordBase = {
    backend: variant.backend,
    kernel: variant.name,
    role: variant.role,
    params,
    problem: problemRecord(problem),
    flops: { useful: costs.useful_flops, executed: null, dwconv7_equivalent: costs.dwconv7_flops },
    bytes: costs.bytes,
    device: session.device.description,
    ...(softwareRenderer(session.device) ? { software: true } : {}),
  };
  if (variant.op !== problem.op) {
    return { ...base, state: 'rejected', error: `variant ${variant.name} computes ${variant.op}, the problem is ${problem.op}` };
  }
  const rejection = whyNot(variant, problem, params, session.device);
  if (rejection) return { ...base, state: 'rejected', error: rejection };

  let kernel: KernelInstance | undefined;
  try {
    kernel = await createKernel(variant, problem, params, session);
    const withSource: RecordBase = {
      ...base,
      source_hash: await sourceHash(kernel.source),
      proxies: codeProxies(kernel.source, kernel.executed?.macs ?? null),
      flops: { ...base.flops, executed: kernel.executed ? 2 * kernel.executed.macs : costs.useful_flops },
    };
    const v = await prepareAndVerify(kernel, data);
    if (!v.ok) return { ...withSource, state: 'mismatch', max_rel_err: v.maxRelErr, error: v.reason };
    const operations = opts.count ? await countOperations(variant, problem, params, session, data, kernel.description) : undefined;
    const verified: VerifiedRecord = { ...withSource, ...(operations ? { operations: { ...operations } } : {}), state: 'verified', max_rel_err: v.maxRelErr };
    if (opts.verifyOnly) return verified;
    const m = opts.measure ?? DEFAULT_MEASURE;
    return { ...verified, ...timingFields(await measureKernel(kernel, m), m.adaptive?.targetRelHalfWidth ?? DEFAULT_TARGET_REL) };
  } catch (e) {
    return { ...base, state: 'failed', error: errorText(e) };
  } finally {
    if (kernel) {
      try {
        await kernel.dispose();
      } catch {
        // A failing dispose must not hide the candidate's own result.
      }
    }
  }
}

/** Times a kernel: with its backend's own clock where it has one, else on the host clock with this process's evidence per sample. */
export function measureKernel(kernel: KernelInstance, m: MeasureOptions): Promise<DeviceTiming> {
  return kernel.measure ? kernel.measure(m) : measureHostClock(kernel, m, processProbe(kernel));
}

/**
 * A record's timing fields: samples with evidence of disturbance are set aside (kept, counted, not
 * used), the median and spread come from the clean ones, and the quality says whether it is stable.
 */
export function timingFields(timing: DeviceTiming, targetRel: number): TimingFields {
  const { quality, clean, aside } = assessTiming(timing.samples_ms, timing.evidence, targetRel);
  const used = clean.length ? clean : [...timing.samples_ms];
  return {
    median_ms: quantile(used, 0.5),
    p10_ms: quantile(used, 0.1),
    p90_ms: quantile(used, 0.9),
    samples_ms: used,
    ...(aside.length && clean.length ? { set_aside_ms: aside } : {}),
    quality,
    timing_method: timing.method,
    ...(timing.without_readback ? { without_readback: medians(timing.without_readback) } : {}),
  };
}

/** Uploads the data, poisons the output, runs once and checks the output against the float64 reference. */
export async function prepareAndVerify(kernel: KernelInstance, data: ProblemData): Promise<ReturnType<typeof verifyOutput>> {
  await kernel.prepare(data);
  await kernel.poisonOutput();
  await kernel.run();
  return verifyOutput(await kernel.readOutput(), data.reference(), data.problem.dtype);
}

/** The hash of the code a variant generates for a problem now: from its description when it has one (nothing compiled), else create, hash, dispose; nothing runs. */
export async function generatedSourceHash(session: BackendSession, variant: KernelVariant, problem: Problem, params: Params): Promise<string> {
  // A variant that describes itself is hashed from its description: nothing is compiled.
  if (variant.generate) return await sourceHash(variant.generate(problem, params, session.device).source);
  const kernel = await createKernel(variant, problem, params, session);
  try {
    return await sourceHash(kernel.source);
  } finally {
    await kernel.dispose();
  }
}
