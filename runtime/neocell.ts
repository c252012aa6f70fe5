/**
 * The NeoCell runtime: run the tuned kernel for a layer in an application, with its own trained
 * weights.
 *
 *   const cell = await createNeoCell({ backend: 'webgpu', device }, { N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 }, { table });
 *   cell.setWeights(weightA, weightB);   // per group, the official PyTorch layout, float32
 *   const y = await cell.run(x);         // NCHW in, NCHW out
 *   cell.choice;                         // { variant, params, tuned, reason }
 *   await cell.dispose();
 *
 * Targets: `js` (generated JavaScript), `wasm` (WebAssembly SIMD; `threads` > 1 uses worker
 * threads), `webgpu` (WGSL on the GPUDevice you pass). The kernels are the very ones neotune
 * verifies and tunes; the choice comes from a dispatch table (`neotune export`), looked up
 * canonically (runtime/choice.ts).
 *
 * Weights: `weightA[g]` is group g's `weight_a` [channels, h_out, h_in] and `weightB[g]` its
 * `weight_b` [channels, w_in, w_out], row-major, as the official implementation stores them.
 */
import { createKernel } from '../harness/compile.js';
import { InputError, positiveInt } from '../core/errors.js';
import type { ChannelSpecInput, ShiftOptions } from '../core/spec.js';
import { type Config, enumerateParams, whyNot } from '../harness/params.js';
import { neoCellProblem, outputShape } from '../harness/problem.js';
import type { BackendSession, DeviceInfo, Dtype, KernelInstance, KernelVariant, NeoCellProblem, Params, ProblemData } from '../harness/types.js';
import { checkDispatchTable, chooseKernel, type DispatchTable, type KernelChoice } from './choice.js';

export type { DispatchTable, KernelChoice, TableRow } from './choice.js';

/** Where a NeoCell runs: `webgpu` (WGSL on your GPUDevice, which stays yours), `wasm` (WebAssembly SIMD; `threads` is the most threads a kernel may use, default 1: Node worker threads or, in a cross-origin isolated page, Web Workers), or `js` (generated JavaScript). */
export type NeoCellTarget = { readonly backend: 'webgpu'; readonly device: GPUDevice } | { readonly backend: 'wasm'; readonly threads?: number } | { readonly backend: 'js' };

/** A NeoCell layer: shape, and the cell as a kernel string ("4+7" with shifts) or the official list of channel specs. */
export interface NeoCellLayer extends ShiftOptions {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly spec: string | ChannelSpecInput | readonly ChannelSpecInput[];
  readonly dtype?: Dtype;
}

/** A NeoCell layer ready to run on its target with the chosen kernel (createNeoCell). Dispose of it when done. */
export interface NeoCell {
  /** The kernel that runs, and whether it was tuned for this very problem. */
  readonly choice: KernelChoice;
  /** Shape of the output (N, C, H_out, W_out). */
  readonly outShape: { readonly N: number; readonly C: number; readonly H: number; readonly W: number };
  /** Group g's weight_a [channels, h_out, h_in] and weight_b [channels, w_in, w_out], float32. */
  setWeights(weightA: readonly Float32Array[], weightB: readonly Float32Array[]): void;
  /**
   * y = A·x·B per channel; x NCHW float32. The output goes into `out` when given (N·C·H_out·W_out
   * floats: no allocation per call), else into a new array.
   */
  run(x: Float32Array, out?: Float32Array): Promise<Float32Array>;
  /**
   * run() without a promise, for CPU targets (js, wasm): the kernel runs on this thread (its
   * worker threads included) and the output is ready on return. Throws on WebGPU.
   */
  runSync(x: Float32Array, out?: Float32Array): Float32Array;
  /**
   * CPU targets, after the first run(): the kernel's own input and output arrays. Write the input
   * into `x` and call run(io.x, io.y): nothing is copied (the arrays stay valid until dispose).
   * Undefined on WebGPU (use GPU buffers there).
   */
  io(): { readonly x: Float32Array; readonly y: Float32Array } | undefined;
  dispose(): Promise<void>;
}

/** The target backends createNeoCell accepts. */
export const TARGETS = ['js', 'wasm', 'webgpu'] as const;

/** The variants and a session for a target (loaded on demand: a page using WebGPU never loads the CPU kernels). */
async function openTarget(target: NeoCellTarget): Promise<{ variants: readonly KernelVariant[]; session: BackendSession }> {
  if (!target || typeof target !== 'object' || !(TARGETS as readonly string[]).includes((target as { backend?: string }).backend ?? '')) {
    throw new InputError('target.backend', (target as { backend?: unknown } | undefined)?.backend, TARGETS.join(', '));
  }
  if (target.backend === 'webgpu') {
    if (!target.device || typeof (target.device as { createBuffer?: unknown }).createBuffer !== 'function') throw new InputError('target.device', target.device, 'a GPUDevice (adapter.requestDevice())');
    const [{ wgslVariants }, { gpuSessionOn }] = await Promise.all([import('../kernels/webgpu/variants.js'), import('../kernels/webgpu/device-session.js')]);
    return { variants: wgslVariants('webgpu').filter((v) => v.role === 'neocell'), session: gpuSessionOn(target.device) };
  }
  if (target.backend === 'wasm' && target.threads !== undefined) positiveInt('target.threads', target.threads, 64);
  const { openCpuTarget } = await import('./cpu-target.js');
  return openCpuTarget(target.backend, target.backend === 'wasm' ? (target.threads ?? 1) : 1);
}

/** Creates the kernel for `layer` on `target`: the table's choice (or the cost model's prediction, the nearest, the defaults: see `choice`). */
export async function createNeoCell(target: NeoCellTarget, layer: NeoCellLayer, o: { table?: DispatchTable } = {}): Promise<NeoCell> {
  if (o.table !== undefined) checkDispatchTable(o.table);
  const problem = neoCellProblem(layer as Parameters<typeof neoCellProblem>[0]);
  if (problem.dtype === 'float16') {
    // f16 storage needs WGSL's f16 type: WebGPU devices with the shader-f16 feature only.
    const f16 = target.backend === 'webgpu' && target.device?.features?.has?.('shader-f16');
    if (!f16) throw new InputError('layer.dtype', 'float16', target.backend === 'webgpu' ? 'float32 (this GPUDevice has no shader-f16 feature: request it from an adapter that has it)' : `float32 on the ${target.backend} target (float16 runs on WebGPU devices with shader-f16)`);
  }
  const { variants, session } = await openTarget(target);
  let instance: KernelInstance | undefined;
  try {
    const device = session.device;
    const maxThreads = target.backend === 'wasm' ? (target.threads ?? 1) : Infinity;
    const byName = new Map(variants.map((v) => [v.name, v]));
    const usable = (name: string, params: Params): string | undefined => {
      const v = byName.get(name);
      if (!v) return `${name} is not a ${target.backend} kernel`;
      if (Number(params.threads ?? 1) > maxThreads) return `threads=${params.threads} but the target allows ${maxThreads}`;
      return whyNot(v, problem, params, device);
    };
    // What the cost model ranks for a problem the table lacks: every configuration this target runs
    // it with (a table of another backend's device predicts nothing for these kernels).
    const candidates = (): Config[] =>
      o.table?.backend !== session.backend ? [] : variants.flatMap((v) => enumerateParams(v.params(problem, device)).filter((params) => !usable(v.name, params)).map((params) => ({ variant: v.name, params })));
    const choice = chooseKernel(o.table, problem, usable, () => defaults(variants, problem, device, maxThreads), candidates);
    instance = await createKernel(byName.get(choice.variant)!, problem, choice.params, session);
    return new RuntimeCell(problem, choice, instance, session, target.backend);
  } catch (e) {
    await instance?.dispose();
    await session.close();
    throw e;
  }
}

/** The same memory: one array is a view of exactly the other's elements. */
const same = (a: Float32Array, b: Float32Array) => a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;

function defaults(variants: readonly KernelVariant[], problem: NeoCellProblem, device: DeviceInfo, maxThreads: number): { variant: string; params: Params } {
  for (const v of variants) {
    const params = v.defaults(problem, device);
    const capped = params.threads !== undefined && Number(params.threads) > maxThreads ? { ...params, threads: maxThreads } : params;
    if (!whyNot(v, problem, capped, device)) return { variant: v.name, params: capped };
  }
  throw new InputError('layer', `${problem.N}x${problem.C}x${problem.H}x${problem.W} ${problem.dtype}`, `a problem one of ${variants.map((v) => v.name).join(', ')} can run`, 'no kernel of this target runs it');
}

class RuntimeCell implements NeoCell {
  readonly outShape: NeoCell['outShape'];
  private weights?: { a: Float32Array<ArrayBuffer>[]; b: Float32Array<ArrayBuffer>[] };
  /** The weights are in the kernel (prepare() ran with them): run(x) only replaces the input. */
  private prepared = false;
  /** The kernel's own arrays once prepared (stable until dispose). */
  private ownIo: { readonly x: Float32Array; readonly y: Float32Array } | undefined;
  private disposed = false;

  constructor(
    private readonly problem: NeoCellProblem,
    readonly choice: KernelChoice,
    private readonly instance: KernelInstance,
    private readonly session: BackendSession,
    private readonly backend: NeoCellTarget['backend'],
  ) {
    this.outShape = outputShape(problem);
  }

  setWeights(weightA: readonly Float32Array[], weightB: readonly Float32Array[]): void {
    const groups = this.problem.cell.groups;
    const check = (field: string, list: readonly Float32Array[], size: (g: (typeof groups)[number]) => number, layout: string) => {
      if (!Array.isArray(list) || list.length !== groups.length) throw new InputError(field, Array.isArray(list) ? `${list.length} arrays` : list, `${groups.length} Float32Arrays, one per group`);
      return list.map((w, i) => {
        const n = size(groups[i]!);
        if (!(w instanceof Float32Array) || w.length !== n) throw new InputError(`${field}[${i}]`, w instanceof Float32Array ? `${w.length} floats` : typeof w, `a Float32Array of ${n} floats (${layout} = ${layout.replace(/\w+/g, (k) => String(dims(groups[i]!)[k]))})`);
        // A NaN or infinite weight would make every output it touches non-finite, silently.
        const bad = w.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw new InputError(`${field}[${i}][${bad}]`, String(w[bad]), 'finite numbers (a trained weight is never NaN or infinite)');
        return new Float32Array(w) as Float32Array<ArrayBuffer>;
      });
    };
    const dims = (g: (typeof groups)[number]): Record<string, number> => ({ channels: g.channels, h_out: g.a.out, h_in: g.a.in, w_in: g.b.in, w_out: g.b.out });
    this.prepared = false;
    this.ownIo = undefined;
    this.weights = {
      a: check('weightA', weightA, (g) => g.channels * g.a.out * g.a.in, 'channels × h_out × h_in'),
      b: check('weightB', weightB, (g) => g.channels * g.b.in * g.b.out, 'channels × w_in × w_out'),
    };
  }

  /** Checks x and out; the output's element count. */
  private checkIo(x: Float32Array, out: Float32Array | undefined): number {
    if (this.disposed) throw new InputError('cell', 'disposed', 'a cell that was not disposed');
    if (!this.weights) throw new InputError('weights', undefined, 'setWeights(weightA, weightB) before run');
    const { N, C, H, W } = this.problem;
    if (!(x instanceof Float32Array) || x.length !== N * C * H * W) {
      throw new InputError('x', x instanceof Float32Array ? `${x.length} floats` : typeof x, `a Float32Array of N·C·H·W = ${N}·${C}·${H}·${W} = ${N * C * H * W} floats (NCHW)`);
    }
    const o = this.outShape;
    const n = o.N * o.C * o.H * o.W;
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== n)) throw new InputError('out', out instanceof Float32Array ? `${out.length} floats` : typeof out, `a Float32Array of N·C·H_out·W_out = ${n} floats`);
    return n;
  }

  private data(x: Float32Array): ProblemData {
    return {
      problem: this.problem,
      seed: 0,
      x: x as Float32Array<ArrayBuffer>,
      cellWeights: this.weights!,
      outShape: this.outShape,
      reference: () => {
        throw new Error('the runtime has no reference output');
      },
    };
  }

  /**
   * Puts x where the kernel reads it: already there (io().x), replaced alone (the weights stay), or
   * a first prepare. A promise only when the kernel's own calls are asynchronous (WebGPU).
   */
  private feed(x: Float32Array): void | Promise<void> {
    if (this.ownIo && same(this.ownIo.x, x)) return;
    if (this.prepared && this.instance.setInput) return this.instance.setInput(x);
    const done = () => {
      this.prepared = true;
      this.ownIo = this.instance.io?.();
    };
    const preparing = this.instance.prepare(this.data(x));
    if (preparing) return preparing.then(done);
    done();
  }

  /** The output in `out` (or a new array) unless it is already there (io().y). */
  private collect(n: number, out: Float32Array | undefined, read?: Float32Array): Float32Array {
    // An array the caller owns (a kernel may hand out its own output buffer).
    const y = out ?? new Float32Array(n);
    if (this.ownIo && same(this.ownIo.y, y)) return y;
    if (read) y.set(read);
    else this.instance.readOutputInto!(y);
    return y;
  }

  run(x: Float32Array, out?: Float32Array): Promise<Float32Array> {
    // CPU kernels run synchronously: a settled promise, not an async function's extra ticks.
    if (this.backend !== 'webgpu' && this.prepared) {
      try {
        return Promise.resolve(this.runSync(x, out));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.runAsync(x, out);
  }

  private async runAsync(x: Float32Array, out?: Float32Array): Promise<Float32Array> {
    const n = this.checkIo(x, out);
    const fed = this.feed(x);
    if (fed) await fed;
    // Synchronous kernels (CPU) are not awaited: no extra turn of the event loop per call.
    const ran = this.instance.run();
    if (ran) await ran;
    return this.collect(n, out, this.instance.readOutputInto ? undefined : await this.instance.readOutput());
  }

  runSync(x: Float32Array, out?: Float32Array): Float32Array {
    if (this.backend === 'webgpu') throw new InputError('target.backend', 'webgpu', 'js or wasm (runSync runs CPU kernels; await run() on WebGPU)');
    const n = this.checkIo(x, out);
    void this.feed(x);
    void this.instance.run();
    return this.collect(n, out);
  }

  io(): { readonly x: Float32Array; readonly y: Float32Array } | undefined {
    return this.ownIo;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.instance.dispose();
    await this.session.close();
  }
}
