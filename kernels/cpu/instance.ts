/**
 * A CPU kernel instance around generated JavaScript functions `fn(x, y, scratch, wa, wb, dw)`, run
 * in order. Variants supply one source part per channel segment: V8 does not optimise functions
 * whose bytecode is too large, so one huge function per kernel would run 30× slower.
 * Buffers and the lifecycle live here once.
 */
import { materializeCell } from '../../core/structure.js';
import type { ExecutedCounts, KernelDescription, KernelInstance, ProblemData } from '../../harness/types.js';
import { compileJs } from './codegen.js';

/** A JavaScript kernel as data: one function body per channel segment, the scratch size, the weights it reads. */
export interface JsKernelSpec extends KernelDescription {
  readonly kind: 'js';
  readonly parts: readonly string[];
  readonly scratchElements: number;
  readonly executed?: ExecutedCounts;
  /** The per-group blocks (cell) or the materialised A and B (dense). */
  readonly weights: 'cell' | 'dense';
}

export function jsKernelSpec(name: string, parts: readonly string[], scratchElements: number, executed?: ExecutedCounts, weights: 'cell' | 'dense' = 'cell'): JsKernelSpec {
  return { kind: 'js', name, source: parts.join('\n'), parts: [...parts], scratchElements, ...(executed ? { executed } : {}), weights };
}

export type CpuKernelFn = (
  x: Float32Array,
  y: Float32Array,
  scratch: Float32Array,
  wa: readonly Float32Array[],
  wb: readonly Float32Array[],
  dw: Float32Array,
) => void;

export const CPU_KERNEL_ARGS = ['x', 'y', 'scratch', 'wa', 'wb', 'dw'] as const;

/** Weight preprocessing done once in prepare() (e.g. the dense variant's materialised matrices). */
export type WeightTransform = (data: ProblemData) => { wa: readonly Float32Array[]; wb: readonly Float32Array[] };

export class JsKernel implements KernelInstance {
  /** Compiles a description (the CPU backend's half of create = compile ∘ generate). */
  static compile(spec: JsKernelSpec): JsKernel {
    return new JsKernel(spec.name, spec.parts, spec.scratchElements, spec.executed, spec.weights === 'dense' ? materializeCell : undefined);
  }

  private readonly fns: CpuKernelFn[];
  readonly source: string;
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  private scratch: Float32Array;
  private wa: readonly Float32Array[] = [];
  private wb: readonly Float32Array[] = [];
  private dw = new Float32Array(0);

  /**
   * `counters`: the parts are a counting build (kernels/cpu/count-js.ts) that take this array as an
   * extra last argument.
   */
  constructor(
    readonly name: string,
    parts: readonly string[],
    scratchElements: number,
    readonly executed?: ExecutedCounts,
    private readonly transform?: WeightTransform,
    counters?: { readonly arg: string; readonly array: Float64Array },
  ) {
    this.source = parts.join('\n');
    const args = counters ? [...CPU_KERNEL_ARGS, counters.arg] : CPU_KERNEL_ARGS;
    const fns = parts.map((part, i) => compileJs<(...a: unknown[]) => void>(`${name}-${i}`, args, part));
    this.fns = counters ? fns.map((fn) => (x, y, s, wa, wb, dw) => fn(x, y, s, wa, wb, dw, counters.array)) : (fns as CpuKernelFn[]);
    this.scratch = new Float32Array(scratchElements);
  }

  /** A description's counting build: `parts` are its instrumented parts, `counters` the array they count into. */
  static compileCounting(spec: JsKernelSpec, parts: readonly string[], counters: { readonly arg: string; readonly array: Float64Array }): JsKernel {
    return new JsKernel(spec.name, parts, spec.scratchElements, spec.executed, spec.weights === 'dense' ? materializeCell : undefined, counters);
  }

  prepare(data: ProblemData): void {
    const o = data.outShape;
    // The kernel's own copy: setInput() and io() write into it, never into the caller's array.
    this.x = new Float32Array(data.x);
    this.y = new Float32Array(o.N * o.C * o.H * o.W);
    const w = this.transform?.(data);
    this.wa = w?.wa ?? data.cellWeights?.a ?? [];
    this.wb = w?.wb ?? data.cellWeights?.b ?? [];
    this.dw = data.dwWeights ?? new Float32Array(0);
  }

  setInput(x: Float32Array): void {
    if (x.length !== this.x.length) throw new Error(`input has ${x.length} elements, the kernel was prepared for ${this.x.length}`);
    this.x.set(x);
  }

  poisonOutput(): void {
    this.y.fill(NaN);
  }

  run(): void {
    for (const fn of this.fns) fn(this.x, this.y, this.scratch, this.wa, this.wb, this.dw);
  }

  readOutput(): Float32Array {
    return this.y;
  }

  io(): { x: Float32Array; y: Float32Array } {
    return { x: this.x, y: this.y };
  }

  readOutputInto(out: Float32Array): void {
    out.set(this.y);
  }

  dispose(): void {
    this.scratch = new Float32Array(0);
  }
}
