/**
 * The shared harness contract. A kernel = backend + variant + parameter values + problem.
 * Every backend (CPU, gpu.js, WebGPU, in Node or in a browser) implements these interfaces and is
 * driven by the same lifecycle: create → prepare(data) → poison → run → readOutput → verify →
 * measure → dispose (harness/evaluate.ts).
 */
import type { CellSpec } from '../core/spec.js';

export type BackendName = 'cpu' | 'webgpu' | 'webgpu-browser' | 'gpujs' | 'gpujs-browser';
export type Dtype = 'float32' | 'float16';

interface ProblemBase {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly dtype: Dtype;
}
/** Y = A·X·B per channel. */
export interface NeoCellProblem extends ProblemBase {
  readonly op: 'neocell';
  readonly cell: CellSpec;
}
/** Depthwise K×K convolution, stride 1, "same" zero padding: the operator NeoCell replaces. */
export interface DwConvProblem extends ProblemBase {
  readonly op: 'dwconv';
  readonly K: number;
}
/** Y = X: the bandwidth ceiling every kernel is compared with. */
export interface CopyProblem extends ProblemBase {
  readonly op: 'copy';
}
/** Any problem a kernel solves: a NeoCell layer, a depthwise convolution baseline, or a copy (bandwidth ceiling). */
export type Problem = NeoCellProblem | DwConvProblem | CopyProblem;

export type ParamValue = number | string | boolean;
/** A point of a variant's parameter space: parameter name to value. */
export type Params = Readonly<Record<string, ParamValue>>;

/** Inputs of one problem, float32, plus its float64 oracle output (computed once, lazily). */
export interface ProblemData {
  readonly problem: Problem;
  readonly seed: number;
  /** N·C·H·W input, NCHW. */
  readonly x: Float32Array<ArrayBuffer>;
  /** NeoCell weights per group (layouts in core/weights.ts), float32. */
  readonly cellWeights?: { readonly a: readonly Float32Array<ArrayBuffer>[]; readonly b: readonly Float32Array<ArrayBuffer>[] };
  /** Depthwise weights C·K·K. */
  readonly dwWeights?: Float32Array<ArrayBuffer>;
  readonly outShape: { readonly N: number; readonly C: number; readonly H: number; readonly W: number };
  reference(): Float64Array;
}

/** Work a kernel really executes (differs from useful work for dense and Strassen-like variants). */
export interface ExecutedCounts {
  readonly multiplies: number;
  readonly adds: number;
  /** Multiply-adds as the variant counts them (dense: including zeros). */
  readonly macs: number;
}

/**
 * Operations one call of a kernel executes, by class (vector multiply-adds, loads and stores with
 * their bytes, branches…), counted by the backend's counting build of the kernel: identical on every
 * machine and in every run, compared exactly by `neotune compare`.
 */
export type OperationCounts = Readonly<Record<string, number>>;

/**
 * What may have disturbed one timing sample (host-clock timings in Node): evidence recorded with
 * every sample so that pre-empted ones are set aside (harness/stability.ts).
 */
export interface SampleEvidence {
  /** Involuntary context switches of this process (any of its threads) during the sample (absent where there is no process to ask: a page). */
  readonly switches?: number;
  /** Process CPU time (user + system, all threads) during the sample, ms (absent in a page). */
  readonly cpu_ms?: number;
  /** Wall time of the sample (all its batched calls), ms. */
  readonly wall_ms: number;
  /** Time the calling thread spent waiting for worker threads, ms (thread-pool kernels). */
  readonly wait_ms?: number;
  /** Parts of the call a late worker had not started, run by the calling thread instead (thread-pool kernels). */
  readonly taken_over?: number;
  /** The speed canary's time right after the sample over the fastest it has run this session (1 = as fast as ever). */
  readonly canary?: number;
}

/** Cumulative counters read before and after every sample (the difference is its evidence). */
export interface SampleProbe {
  read(): { readonly switches?: number; readonly cpu_ms?: number; readonly wait_ms?: number; readonly taken_over?: number };
  /** The kernel's speed canary: read once after each sample (SpeedCanary.ratio), outside its timed interval. */
  readonly canary?: SpeedCanary;
}

/**
 * A fixed reference workload on the kernel's own threads, timed between samples: how fast the
 * machine runs now against the fastest it ran this session. A VM's cores have slow phases (a
 * neighbour thrashing the shared caches) in which a kernel runs 1.3-1.8x slower for tens of ms
 * to seconds, with no context switch and no CPU-time deficit to show for it; the canary does show
 * it (docs/regressions.md).
 */
export interface SpeedCanary {
  /** Runs the canary now: its time over the fastest time it has had this session (≥ 1). */
  ratio(): number;
}

/** Timing produced by a backend's own clock (GPU timestamp queries, submitted-work waits…). */
export interface DeviceTiming {
  readonly samples_ms: readonly number[];
  /** e.g. "timestamp-query", "onSubmittedWorkDone-wall", "tinybench". */
  readonly method: string;
  /**
   * Where the main timing includes reading the output back to the host (gpu.js), the same kernel
   * timed without it (chained in pipeline mode), so the read-back's share is stated.
   */
  readonly without_readback?: DeviceTiming;
  /** Evidence per sample, parallel to samples_ms, where the host could observe it. */
  readonly evidence?: readonly SampleEvidence[];
}

/** How a kernel is timed: time budget, minimum samples and warm-up. */
export interface MeasureOptions {
  /** Time budget for the measurement, milliseconds. */
  readonly timeMs: number;
  readonly minSamples: number;
  readonly warmupMs: number;
  /**
   * Keep sampling in rounds of `timeMs` until the 95 % confidence interval of the median is within
   * ± targetRelHalfWidth of it, or maxMs of sampling has been spent (the tuner's adaptive mode).
   */
  readonly adaptive?: { readonly targetRelHalfWidth: number; readonly maxMs: number };
}

/** One compiled kernel bound to one problem's buffers. */
export interface KernelInstance {
  /** The generated code (JS, WGSL, WASM text…): hashed into result records and tuning-database keys. */
  readonly source: string;
  readonly executed?: ExecutedCounts;
  /** Cumulative counters of the thread pool (thread-pool kernels): time the calling thread waited for workers, parts it took over from late workers. */
  poolCounters?(): { readonly wait_ms: number; readonly taken_over: number };
  /** The session's speed canary on as many threads as this kernel uses (set by harness/compile.ts where the session has one). */
  /** The description the session compiled this kernel from (generated kernels; absent for peers): its counting build is made from it. */
  description?: KernelDescription;
  canary?: SpeedCanary;
  /** Upload inputs and weights; allocate the output. */
  prepare(data: ProblemData): void | Promise<void>;
  /**
   * Replace the input only, keeping the weights of the last prepare() (the runtime's run(x): a
   * layer's weights are uploaded once). Same length as the prepared input.
   */
  setInput?(x: Float32Array): void | Promise<void>;
  /** Fill the output with NaN so a kernel that writes nothing cannot pass verification. */
  poisonOutput(): void | Promise<void>;
  run(): void | Promise<void>;
  readOutput(): Float32Array | Promise<Float32Array>;
  /**
   * The kernel's own input and output arrays, after prepare() (CPU kernels): an application that
   * writes its input into `x` and reads `y` moves no data (the runtime's cell.io()).
   */
  io?(): { readonly x: Float32Array; readonly y: Float32Array };
  /** Copy the output into `out` (no allocation: the runtime's run(x, out)). */
  readOutputInto?(out: Float32Array): void;
  /** Backends with their own clock time themselves; without it the harness uses tinybench around run(). */
  measure?(opts: MeasureOptions): Promise<DeviceTiming>;
  dispose(): void | Promise<void>;
}

/** Where a variant stands among the kernels of a run. */
export type KernelRole = 'neocell' | 'baseline' | 'ceiling' | 'peer';

/** Device facts a variant may need to prune its space (limits, features, threads). */
export interface DeviceInfo {
  readonly backend: BackendName;
  /** One-line description for tables (CPU model, adapter vendor/device, renderer). */
  readonly description: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly limits: Readonly<Record<string, number>>;
  readonly features: readonly string[];
}

/** A parameter with its domain. Constraints live in `check` so they can see the problem and device. */
export interface ParamDecl {
  readonly name: string;
  readonly values: readonly ParamValue[];
  /** Why this parameter exists; shown by `neotune bench --list`. */
  readonly doc: string;
}

/**
 * A kernel variant of one backend for problems of kind `P` (NeoCell, depthwise conv, copy): its
 * methods see the problem typed by its kind. The harness only calls them with problems of the
 * variant's `op` (it checks first), so a variant is used wherever a `KernelVariant` is expected.
 */
export interface KernelVariant<P extends Problem = Problem> {
  readonly backend: BackendName;
  readonly name: string;
  readonly op: P['op'];
  readonly role: KernelRole;
  /** Parameter declarations for this problem on this device. */
  params(problem: P, device: DeviceInfo): readonly ParamDecl[];
  /** Element types it computes in (storage of x and y); float32 only when absent. */
  readonly dtypes?: readonly Dtype[];
  /** The parameter values used when nothing is tuned or pinned. */
  defaults(problem: P, device: DeviceInfo): Params;
  /**
   * Constraints beyond the declared domains (the harness checks domains itself, before this), as a
   * reason the combination is invalid, or undefined. Checked before anything runs.
   */
  check?(problem: P, params: Params, device: DeviceInfo): string | undefined;
  /**
   * The kernel for this problem and these parameters as a description: pure, deterministic and
   * serialisable (code text, entry points, dispatch, buffers, how the weights are packed), made
   * without touching a device. The backend compiles it (create = compile ∘ generate); the tuner
   * hashes it to resume without compiling. Every neotune kernel has one; harness/compile.ts
   * createKernel turns it into a kernel through the session (BackendSession.compile).
   */
  generate?(problem: P, params: Params, device: DeviceInfo): KernelDescription;
  /**
   * Only for kernels with no description to generate (peers: a library's own kernel, and test
   * fixtures): makes the kernel itself. A variant has generate or create, not both.
   */
  create?(problem: P, params: Params, session: BackendSession): Promise<KernelInstance>;
}

/** A generated kernel as data: `kind` says which backend compiles it; `source` is its code. */
export interface KernelDescription {
  readonly kind: string;
  readonly name: string;
  readonly source: string;
}

/** A machine ceiling measured in the run (compute peak, bandwidth), for "% of peak" ratios. */
export interface CeilingRecord {
  readonly backend: BackendName;
  /** e.g. "wasm-simd-peak". */
  readonly name: string;
  readonly params: Params;
  readonly gflops: number;
  readonly method: string;
  /** Clean/total samples and stability of the measurement this figure comes from. */
  readonly quality?: TimingQuality;
  /** Each measurement in the run (the ceiling is measured before and after the kernels; the best clean one counts). */
  readonly measurements?: readonly number[];
  /** Why this ceiling cannot be trusted (measured under contention, inconsistent with the others…). */
  readonly flags?: readonly string[];
}

/** An opened backend: device facts plus whatever handles its kernels share (device, workers…). */
export interface BackendSession {
  readonly backend: BackendName;
  readonly device: DeviceInfo;
  /**
   * Compiles a kernel description of this backend's kinds (what its variants' generate() returns)
   * into a runnable kernel; a description of another kind is refused, naming it. Absent on sessions
   * that run only self-creating kernels (test fixtures).
   */
  compile?(description: KernelDescription): Promise<KernelInstance>;
  /**
   * The exact lane: runs the counting build of a description once on `data` and returns the
   * operations one call executes, by class. Absent on backends without one.
   */
  countOperations?(description: KernelDescription, data: ProblemData): Promise<OperationCounts>;
  /** The speed canary for kernels on `threads` threads (host-clock backends that have one; one per thread count and session). */
  speedCanary?(threads: number): Promise<SpeedCanary>;
  /** Measures this device's ceilings (called once per run, after its kernels, before close). */
  ceilings?(): Promise<readonly CeilingRecord[]>;
  close(): Promise<void>;
}

/** Availability of a backend on this machine; `reason` says why not (missing package, no adapter…). */
export type Availability = { readonly available: true; readonly description: string; readonly details?: Readonly<Record<string, unknown>> } | { readonly available: false; readonly reason: string };

/** A backend's kernels and how to open its device (its title and availability probe are its registry entry's: kernels/registry.ts). */
export interface Backend {
  readonly name: BackendName;
  open(): Promise<BackendSession>;
  readonly variants: readonly KernelVariant[];
}

/** Whether a timing can be trusted (harness/stability.ts assesses it). */
export type SetAsideReason = 'preempted' | 'cpu_deficit' | 'worker_wait' | 'worker_late' | 'slow_machine';
export type SampleShape = 'unimodal' | 'bimodal' | 'heavy-tailed';

export interface TimingQuality {
  /** Stable: enough clean samples, one mode, median CI within the target. */
  readonly stable: boolean;
  /** Why not (empty when stable). */
  readonly reasons: readonly string[];
  /** What is worth knowing but does not make the timing unstable (a heavy tail). */
  readonly notes?: readonly string[];
  readonly n_clean: number;
  readonly n_total: number;
  /** Samples set aside, by the first evidence that disqualified each. */
  readonly set_aside: Readonly<Record<SetAsideReason, number>>;
  readonly shape: SampleShape;
  /** Half-width of the 95 % interval of the clean median, relative to it (null: no clean sample). */
  readonly ci_rel: number | null;
  readonly target_rel: number;
}
