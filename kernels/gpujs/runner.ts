/**
 * The gpu.js kernel runner, shared by both hosts: Node (gpu.js + headless-gl) and headless
 * Chromium (gpu-browser.min.js, WebGL2). It has no runtime import of gpu.js (the host hands it a
 * `GPU` instance) and imports only browser-safe modules (the shared timing code, the array
 * concatenation), so its compiled module is served to the page as is and the same kernel
 * definitions run in both hosts.
 *
 * A kernel is a chain of gpu.js stages (one stage for one-pass variants). Every stage's class is
 * asserted after it is built: gpu.js silently falls back to a CPU or WebAssembly kernel when its
 * WebGL context is missing or a shader fails, and such a fallback must never be reported as a
 * gpu.js result.
 */
import { measureHostClock, measureWithTinybench } from '../../harness/timing.js';
import type { DeviceTiming, MeasureOptions } from '../../harness/types.js';
import { concatenated } from '../../core/structure.js';

export type GpuJsLayout = 'flat' | '3d';
export type GpuJsPrecision = 'single' | 'unsigned';

export interface GpuJsStage {
  /** gpu.js kernel source: `function (x, w0, …) { … return value; }`. */
  readonly source: string;
  /** gpu.js output size: [n] (flat) or [columns, rows, images] (3d). */
  readonly output: readonly number[];
  /** Arguments by name: `x` the problem input, `w<i>` the spec's i-th extra input, `s<i>` stage i's result. */
  readonly args: readonly string[];
}

export interface GpuJsKernelSpec {
  readonly name: string;
  readonly stages: readonly GpuJsStage[];
  readonly precision: GpuJsPrecision;
  /** Intermediates stay in GPU textures (gpu.js pipeline mode), or are read back and re-uploaded. */
  readonly pipeline: boolean;
  readonly outputElements: number;
}

/** The slice of gpu.js's API the runner uses (typed structurally: the browser's GPU is a global). */
export interface GpuJsKernelFn {
  (...args: unknown[]): unknown;
  kernel?: { constructor: { name: string } };
  destroy?(removeCanvasReferences?: boolean): void;
}
export interface GpuJsInstance {
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernelFn;
}
interface TextureLike {
  toArray(): unknown;
  delete?(): void;
}

/** Chained runs per sample when timing without read-back (then one 1-texel read forces completion). */
const CHAINED_RUNS = 4;

function isTexture(v: unknown): v is TextureLike {
  return typeof v === 'object' && v !== null && typeof (v as TextureLike).toArray === 'function' && !ArrayBuffer.isView(v);
}

/** Nested gpu.js results (Float32Array rows) flattened in row-major order. */
export function flattenResult(v: unknown, n: number): Float32Array {
  const rows: Float32Array[] = [];
  const walk = (a: unknown): void => {
    if (ArrayBuffer.isView(a)) rows.push(a as Float32Array);
    else for (const r of a as unknown[]) walk(r);
  };
  walk(v);
  const got = rows.reduce((s, r) => s + r.length, 0);
  if (got !== n) throw new Error(`gpu.js returned ${got} values, expected ${n}`);
  return concatenated(rows);
}

export class GpuJsKernel {
  private readonly readBack: GpuJsKernelFn[];
  private deviceOnly?: { stages: GpuJsKernelFn[]; sync: GpuJsKernelFn };
  private readonly values = new Map<string, unknown>();
  private result: unknown;

  constructor(
    private readonly gpu: GpuJsInstance,
    private readonly spec: GpuJsKernelSpec,
    /** gpu.js kernel class that proves the GPU path: HeadlessGLKernel (Node) or WebGL2Kernel. */
    private readonly expectedClass: string,
  ) {
    this.readBack = spec.stages.map((s, i) => this.build(s, i < spec.stages.length - 1 && spec.pipeline));
  }

  private build(stage: GpuJsStage, pipeline: boolean): GpuJsKernelFn {
    return this.gpu.createKernel(stage.source, {
      output: [...stage.output],
      precision: this.spec.precision,
      pipeline,
      tactic: 'precision',
      // Our generated loops have constant bounds; this only lifts gpu.js's default cap.
      loopMaxIterations: 4096,
    });
  }

  /** Throws unless gpu.js really built a GPU kernel (it builds on first call). */
  private assertGpu(k: GpuJsKernelFn, stage: number): void {
    const cls = k.kernel?.constructor.name;
    if (cls !== this.expectedClass) {
      throw new Error(`gpu.js built ${cls ?? 'no kernel'} for ${this.spec.name} stage ${stage}, not ${this.expectedClass}: a CPU/WASM fallback is not a gpu.js result`);
    }
  }

  prepare(x: Float32Array, inputs: readonly Float32Array[]): void {
    this.values.set('x', x);
    inputs.forEach((w, i) => this.values.set(`w${i}`, w));
  }

  poisonOutput(): void {
    // gpu.js returns a fresh output array per call: forgetting the last makes readOutput fail
    // unless run() produced one.
    this.result = undefined;
  }

  private chain(kernels: readonly GpuJsKernelFn[]): unknown {
    let last: unknown;
    kernels.forEach((k, i) => {
      last = k(...this.spec.stages[i]!.args.map((a) => this.values.get(a)));
      this.assertGpu(k, i);
      this.values.set(`s${i}`, last);
    });
    return last;
  }

  /** All stages, then the read-back of the output (what a caller of a non-pipeline kernel pays). */
  run(): void {
    this.result = this.chain(this.readBack);
  }

  readOutput(): Float32Array {
    if (this.result === undefined) throw new Error(`${this.spec.name}: no output (run() was not called after poisonOutput())`);
    return flattenResult(isTexture(this.result) ? this.result.toArray() : this.result, this.spec.outputElements);
  }

  /** Every stage in pipeline mode (textures only) plus a 1-value kernel reading the output. */
  private deviceOnlyChain(): { stages: GpuJsKernelFn[]; sync: GpuJsKernelFn } {
    if (!this.deviceOnly) {
      const last = this.spec.stages[this.spec.stages.length - 1]!;
      const read = last.output.length === 3 ? 't[0][0][0]' : 't[0]';
      this.deviceOnly = {
        stages: this.spec.stages.map((s) => this.build(s, true)),
        sync: this.gpu.createKernel(`function (t) { return ${read}; }`, { output: [1], precision: this.spec.precision, tactic: 'precision' }),
      };
    }
    return this.deviceOnly;
  }

  private runWithoutReadBack(): void {
    const d = this.deviceOnlyChain();
    let out: unknown;
    for (let r = 0; r < CHAINED_RUNS; r++) out = this.chain(d.stages);
    d.sync(out);
    this.assertGpu(d.sync, d.stages.length);
  }

  /**
   * Wall time per run including the read-back (gpu.js offers no GPU timer), through tinybench;
   * then, separately, runs chained in pipeline mode without read-back, so the result states the
   * read-back's share.
   */
  async measure(opts: MeasureOptions): Promise<DeviceTiming> {
    const withReadBack = await measureHostClock({ run: () => this.run() }, opts);
    // A secondary figure: a few samples suffice (software WebGL runs can take 100 ms each).
    const chained = await measureWithTinybench({ run: () => this.runWithoutReadBack() }, { timeMs: opts.timeMs, minSamples: Math.min(opts.minSamples, 5), warmupMs: 0 });
    return {
      samples_ms: withReadBack.samples_ms,
      method: `wall time per run including read-back, ${withReadBack.method}`,
      without_readback: {
        samples_ms: chained.samples_ms.map((s) => s / CHAINED_RUNS),
        method: `wall time of ${CHAINED_RUNS} runs chained in pipeline mode, then a 1-value read, per run, ${chained.method}`,
      },
    };
  }

  dispose(): void {
    const all = [...this.readBack, ...(this.deviceOnly ? [...this.deviceOnly.stages, this.deviceOnly.sync] : [])];
    for (const k of all) k.destroy?.();
    this.values.clear();
    this.result = undefined;
  }
}
