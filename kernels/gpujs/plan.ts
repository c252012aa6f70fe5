/**
 * A gpu.js kernel as data (what a gpu.js variant's generate() returns) and the session contract of
 * both gpu.js hosts (Node/headless-gl, Chromium), which compile it.
 */
import type { WeightPacking } from '../../core/structure.js';
import type { BackendSession, ExecutedCounts, KernelDescription, KernelInstance } from '../../harness/types.js';
import type { GpuJsKernelSpec } from './runner.js';

/** What a variant's plan function makes for one problem: the stage chain, its weight inputs and its executed work. */
export interface GpuJsPlanParts {
  readonly spec: GpuJsKernelSpec;
  /** Extra inputs (`w0`, `w1`, …) after x, as packing names (core/structure.ts packWeights). */
  readonly weights: readonly WeightPacking[];
  readonly executed: ExecutedCounts;
}

/** A gpu.js kernel as data (its description): the plan with its name and source text. */
export interface GpuJsPlan extends KernelDescription, GpuJsPlanParts {
  readonly kind: 'gpujs';
}

/** A session of either gpu.js host: the variants only hand it a plan. */
export interface GpuJsHostSession extends BackendSession {
  /** Compiles a gpu.js plan (a `gpujs` KernelDescription) on the session's context. */
  compile(description: KernelDescription): Promise<KernelInstance>;
}

/** A description as a gpu.js plan: the gpu.js sessions compile only `gpujs` descriptions. */
export function gpujsPlan(description: KernelDescription): GpuJsPlan {
  if (description.kind !== 'gpujs') throw new Error(`the gpu.js backend compiles gpujs kernels, not ${description.kind} (${description.name})`);
  return description as GpuJsPlan;
}
