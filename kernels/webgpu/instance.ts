/**
 * A WebGPU kernel bound to one problem: storage buffers for the input, the output and the weights,
 * one compute pipeline, `dispatch` workgroups. Every WebGPU failure (shader compile, validation,
 * out of memory, device lost) becomes an exception with the message, so the harness records the
 * candidate as failed and the run goes on. GPU time comes from timestamp queries when the device
 * has them (many dispatches per measurement: the timer may be coarse), else wall time around
 * onSubmittedWorkDone; the method is recorded.
 */
import type { WeightPacking } from '../../core/structure.js';
import { callsForSpan, clockQuantumMs, clockRoundingText, minSampleSpanMs, samplesTooShort } from '../../harness/clock.js';
import { quantile } from '../../harness/stats.js';
import type { DeviceTiming, ExecutedCounts, KernelDescription, KernelInstance, MeasureOptions, ProblemData } from '../../harness/types.js';

/** Dispatches per sample at most (one command buffer of this many passes). */
const MAX_BATCH = 4096;

/**
 * Makes a kernel's weight buffers from the problem data (its description's `weights`). Passed in by
 * the host: Node packs with core/structure.ts; the page receives buffers packed by Node.
 */
export type WeightPacker = (data: ProblemData) => readonly Float32Array[];

export type Dispatch = readonly [number, number, number];

/** A counting build's counter buffer: its binding in group 0 and its size in u32 words. */
export interface CounterBinding {
  readonly binding: number;
  readonly words: number;
}

/** The limits neotune reads (the parameter spaces are built from them). */
export const LIMIT_NAMES = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'minStorageBufferOffsetAlignment'] as const;

interface GpuKernelSpecBase {
  readonly kind: 'wgsl';
  readonly name: string;
  /** The WGSL module. */
  readonly source: string;
  readonly outputElements: number;
  /** Extra storage buffers after x and y (weights), how each is made from the layer's weights. */
  readonly weights: readonly WeightPacking[];
  readonly executed?: ExecutedCounts;
  /** A read-write scratch buffer bound after the inputs (an intermediate between passes). */
  readonly scratchElements?: number;
  /**
   * The batch split into this many equal chunks of whole images (imageChunks): the WGSL is for one
   * chunk, and every call dispatches it once per chunk, x, y and the scratch bound at the chunk's
   * offset. Splits problems over maxStorageBufferBindingSize (and the z dispatch limit).
   */
  readonly chunks?: number;
  /**
   * Element type of x and y in memory: f16 halves the traffic (`shader-f16`); the host converts
   * on upload and read-back (round to nearest even), the weights and the scratch stay f32.
   */
  readonly io?: 'f32' | 'f16';
}

/** float32 → IEEE binary16 bits, round to nearest even (overflow to ±inf, subnormals kept). */
export function toF16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    const e = exp - 112; // rebias 127 → 15
    let h: number;
    if (exp === 0xff) h = 0x7c00 | (mant ? 0x200 : 0);
    else if (e >= 0x1f) h = 0x7c00;
    else if (e <= 0) {
      // Subnormal half: the full 24-bit significand shifted into units of 2^-24.
      if (e < -10) h = 0;
      else {
        mant |= 0x800000;
        const shift = 14 - e;
        h = mant >>> shift;
        const rest = mant & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rest > halfway || (rest === halfway && h & 1)) h++;
      }
    } else {
      h = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is the correct rounding
    }
    out[i] = sign | h;
  }
  return out;
}

/** writeBuffer moves multiples of 4 bytes: an odd count of f16 values gets one padding value. */
function evenBytes(data: Float32Array | Uint16Array): Float32Array | Uint16Array {
  if (data.byteLength % 4 === 0) return data;
  const padded = new Uint16Array(data.length + 1);
  padded.set(data);
  return padded;
}

/** IEEE binary16 bits → float32 (exact). */
export function fromF16Bits(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/**
 * One entry point `main` with its workgroup counts, or several entry points run in order per
 * call (e.g. the two passes of the sparse variant; WebGPU orders dispatches of one pass).
 */
export type GpuKernelSpec = GpuKernelSpecBase &
  ({ readonly dispatch: Dispatch; readonly passes?: undefined } | { readonly dispatch?: undefined; readonly passes: readonly { readonly entry: string; readonly dispatch: Dispatch }[] });

/** The first binding of group 0 a kernel leaves free: after x (0), y (1), its inputs and its scratch (the layout GpuKernel.create makes). */
export function freeBinding(spec: GpuKernelSpec): number {
  return 2 + spec.weights.length + (spec.scratchElements ? 1 : 0);
}

/** A description as a WGSL kernel spec: the WebGPU sessions compile only `wgsl` descriptions. */
export function wgslSpec(description: KernelDescription): GpuKernelSpec {
  if (description.kind !== 'wgsl') throw new Error(`the WebGPU backend compiles wgsl kernels, not ${description.kind} (${description.name})`);
  return description as GpuKernelSpec;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly timestamps: boolean;
  /**
   * The timestamp clock's step in ms, measured when the device opened (browsers quantise GPU
   * timestamps, Chrome to 0.1 ms unless its developer features are on); undefined when unknown.
   */
  timestampStepMs?: number;
  /** Set when the device was lost: every later call fails with this reason. */
  lost?: string;
}

/**
 * A device with `limits` (the adapter's: the parameter spaces are built from them, so a kernel
 * within them must not fail on a lower default) and the features neotune uses when the adapter has
 * them (timestamp-query, shader-f16), watched for loss. Both hosts open devices through this (the
 * page imports this module as is); each call gives a new context, so kernels made on a lost
 * device keep failing with its reason while new ones use the new device.
 */
export async function openGpuContext(adapter: GPUAdapter, limits: Record<string, number>): Promise<GpuContext> {
  const timestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({
    requiredFeatures: (['timestamp-query', 'shader-f16'] as const).filter((f) => adapter.features.has(f)),
    requiredLimits: limits,
  });
  const ctx = watchedContext(device, timestamps);
  if (timestamps) {
    const step = await timestampStepMs(device).catch(() => undefined);
    if (step !== undefined) ctx.timestampStepMs = step;
  }
  return ctx;
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/**
 * The timestamp clock's step: the greatest common divisor of timestamps taken over a few
 * milliseconds (separate submissions). A quantised clock's values are all multiples of its
 * quantum; a fine one's have a divisor of a nanosecond or so. Undefined when the clock never moved.
 */
export async function timestampStepMs(device: GPUDevice): Promise<number | undefined> {
  const n = 16;
  const querySet = device.createQuerySet({ type: 'timestamp', count: n });
  const resolve = device.createBuffer({ size: n * 8, usage: QUERY_RESOLVE | COPY_SRC });
  const read = device.createBuffer({ size: n * 8, usage: MAP_READ | COPY_DST });
  try {
    for (let i = 0; i < n; i += 2) {
      const enc = device.createCommandEncoder();
      enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 } }).end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      await new Promise((r) => setTimeout(r, 1));
    }
    const enc = device.createCommandEncoder();
    enc.resolveQuerySet(querySet, 0, n, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, read, 0, n * 8);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(1 /* GPUMapMode.READ */);
    const t = [...new BigUint64Array(read.getMappedRange().slice(0))];
    read.unmap();
    let step = 0n;
    for (const v of t) step = gcd(step, v > t[0]! ? v - t[0]! : t[0]! - v);
    return step > 0n ? Number(step) / 1e6 : undefined;
  } finally {
    querySet.destroy();
    resolve.destroy();
    read.destroy();
  }
}

/** A context on `device`, marked lost (with the reason) when the device is lost other than by destroy(). */
export function watchedContext(device: GPUDevice, timestamps: boolean): GpuContext {
  const gpu: GpuContext = { device, timestamps };
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') gpu.lost = `${info.reason}: ${info.message}`;
  });
  return gpu;
}

/** The limits neotune reads (LIMIT_NAMES), as plain numbers, from an adapter's or a device's limits. */
export function readLimits(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of LIMIT_NAMES) out[n] = Number((limits as unknown as Record<string, number>)[n]);
  return out;
}

async function checked<T>(ctx: GpuContext, what: string, f: () => T): Promise<T> {
  if (ctx.lost) throw new Error(`WebGPU device lost: ${ctx.lost}`);
  ctx.device.pushErrorScope('out-of-memory');
  ctx.device.pushErrorScope('validation');
  const out = f();
  const validation = await ctx.device.popErrorScope();
  const oom = await ctx.device.popErrorScope();
  const e = validation ?? oom;
  if (e) throw new Error(`${what}: ${e.message}`);
  return out;
}

const STORAGE = 0x0080; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;
const QUERY_RESOLVE = 0x0200;

const PIPELINE_CACHE_SIZE = 256;
const PIPELINE_CACHE = new WeakMap<GPUDevice, Map<string, { layout: GPUBindGroupLayout; pipelines: GPUComputePipeline[] }>>();

export class GpuKernel implements KernelInstance {
  readonly source: string;
  readonly executed?: ExecutedCounts;
  private pipelines: { pipeline: GPUComputePipeline; dispatch: Dispatch }[] = [];
  private layout: GPUBindGroupLayout | undefined;
  private bindGroups: GPUBindGroup[] = [];
  private buffers: GPUBuffer[] = [];
  private y: GPUBuffer | undefined;
  private x: { buffer: GPUBuffer; elements: number } | undefined;
  private counterBuffer: GPUBuffer | undefined;

  private constructor(
    private readonly ctx: GpuContext,
    private readonly spec: GpuKernelSpec,
    private readonly pack: WeightPacker,
    private readonly counters?: CounterBinding,
  ) {
    this.source = spec.source;
    this.executed = spec.executed;
  }

  /** `counters`: a counting build's (count.ts): its counter buffer bound, read back by readCounters. */
  static async create(ctx: GpuContext, spec: GpuKernelSpec, pack: WeightPacker, counters?: CounterBinding): Promise<GpuKernel> {
    const k = new GpuKernel(ctx, spec, pack, counters);
    // Compiled pipelines are cached per device, keyed by everything that shapes them: the WGSL
    // (itself generated from the problem and the parameters), the entry points and the bindings.
    // The tuner's re-measurements and repeated problems then skip shader compilation.
    const passes = spec.passes ?? [{ entry: 'main', dispatch: spec.dispatch }];
    const key = JSON.stringify([spec.weights.length, spec.scratchElements ? 1 : 0, counters?.binding ?? -1, passes.map((p) => p.entry), spec.source]);
    let cache = PIPELINE_CACHE.get(ctx.device);
    if (!cache) PIPELINE_CACHE.set(ctx.device, (cache = new Map()));
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit); // most recently used last
      k.layout = hit.layout;
      k.pipelines = hit.pipelines.map((pipeline, i) => ({ pipeline, dispatch: passes[i]!.dispatch }));
      return k;
    }
    const module = await checked(ctx, `${spec.name}: shader`, () => ctx.device.createShaderModule({ code: spec.source }));
    // Compile errors arrive through the validation error scope (getCompilationInfo crashes
    // dawn.node 0.6 on SwiftShader, so it is not used).
    // One explicit layout for every entry point: x read-only, y read-write, the inputs read-only,
    // then the scratch read-write (an entry point may leave some unused).
    const inputs = spec.weights.length;
    const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: 4, buffer: { type: 'read-only-storage' } }, { binding: 1, visibility: 4, buffer: { type: 'storage' } }];
    for (let i = 0; i < inputs; i++) entries.push({ binding: 2 + i, visibility: 4, buffer: { type: 'read-only-storage' } });
    if (spec.scratchElements) entries.push({ binding: 2 + inputs, visibility: 4, buffer: { type: 'storage' } });
    if (counters) entries.push({ binding: counters.binding, visibility: 4, buffer: { type: 'storage' } });
    k.layout = await checked(ctx, `${spec.name}: layout`, () => ctx.device.createBindGroupLayout({ entries }));
    const pipelineLayout = ctx.device.createPipelineLayout({ bindGroupLayouts: [k.layout] });
    for (const pass of passes) {
      const pipeline = await checked(ctx, `${spec.name}: pipeline ${pass.entry}`, () => ctx.device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: pass.entry } }));
      k.pipelines.push({ pipeline, dispatch: pass.dispatch });
    }
    cache.set(key, { layout: k.layout, pipelines: k.pipelines.map((p) => p.pipeline) });
    if (cache.size > PIPELINE_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return k;
  }

  /** Bytes per element of x and y. */
  private get ioBytes(): number {
    return this.spec.io === 'f16' ? 2 : 4;
  }

  /** A storage buffer holding `data`, or `data` zero bytes. */
  private storage(data: Float32Array | Uint16Array | number, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil((typeof data === 'number' ? data : data.byteLength) / 16) * 16);
    const b = this.ctx.device.createBuffer({ size, usage: STORAGE | COPY_DST | COPY_SRC, label });
    if (typeof data !== 'number') this.ctx.device.queue.writeBuffer(b, 0, evenBytes(data) as Float32Array<ArrayBuffer>);
    this.buffers.push(b);
    return b;
  }

  async prepare(data: ProblemData): Promise<void> {
    const limit = this.ctx.device.limits.maxStorageBufferBindingSize;
    const chunks = this.spec.chunks ?? 1;
    const perChunk = [data.x.length, this.spec.outputElements, this.spec.scratchElements ?? 0].map((n) => n / chunks);
    if (perChunk.some((n) => !Number.isInteger(n))) throw new Error(`${this.spec.name}: buffers of ${perChunk.map((n) => n * chunks).join(', ')} elements do not split into ${chunks} equal chunks`);
    const bytes = [perChunk[0]! * this.ioBytes, perChunk[1]! * this.ioBytes, perChunk[2]! * 4];
    const biggest = Math.max(...bytes);
    if (biggest > limit) throw new Error(`${this.spec.name}: a ${biggest}-byte buffer exceeds maxStorageBufferBindingSize ${limit} of this device`);
    await checked(this.ctx, `${this.spec.name}: buffers`, () => {
      const x = this.storage(this.spec.io === 'f16' ? toF16Bits(data.x) : data.x, 'x');
      this.x = { buffer: x, elements: data.x.length };
      this.y = this.storage(this.spec.outputElements * this.ioBytes, 'y');
      const extra = this.pack(data).map((a, i) => this.storage(a, `w${i}`));
      if (extra.length !== this.spec.weights.length) throw new Error(`${this.spec.name}: ${extra.length} input buffers, the layout has ${this.spec.weights.length}`);
      const scratch = this.spec.scratchElements ? this.storage(this.spec.scratchElements * 4, 'scratch') : undefined;
      if (this.counters) this.counterBuffer = this.storage(this.counters.words * 4, 'counters');
      // Per chunk: x, y and the scratch at the chunk's byte offset; the weights whole.
      const part = (buffer: GPUBuffer, chunkBytes: number, i: number): GPUBufferBinding => (chunks === 1 ? { buffer } : { buffer, offset: i * chunkBytes, size: chunkBytes });
      this.bindGroups = Array.from({ length: chunks }, (_, i) =>
        this.ctx.device.createBindGroup({
          layout: this.layout!,
          entries: [
            ...[part(x, bytes[0]!, i), part(this.y!, bytes[1]!, i), ...extra.map((buffer) => ({ buffer })), ...(scratch ? [part(scratch, bytes[2]!, i)] : [])].map((resource, binding) => ({ binding, resource })),
            ...(this.counterBuffer ? [{ binding: this.counters!.binding, resource: { buffer: this.counterBuffer } }] : []),
          ],
        }),
      );
    });
  }

  setInput(x: Float32Array): void {
    if (!this.x || x.length !== this.x.elements) throw new Error(`${this.spec.name}: input has ${x.length} elements, the kernel was prepared for ${this.x?.elements ?? 0}`);
    this.ctx.device.queue.writeBuffer(this.x.buffer, 0, evenBytes(this.spec.io === 'f16' ? toF16Bits(x) : x) as Float32Array<ArrayBuffer>);
  }

  async poisonOutput(): Promise<void> {
    const nan = this.spec.io === 'f16' ? new Uint16Array(this.spec.outputElements).fill(0x7e00) : new Float32Array(this.spec.outputElements).fill(NaN);
    this.ctx.device.queue.writeBuffer(this.y!, 0, evenBytes(nan) as Float32Array<ArrayBuffer>);
  }

  private encode(times: number, timestamps?: GPUQuerySet): GPUCommandBuffer {
    const enc = this.ctx.device.createCommandEncoder();
    for (let i = 0; i < times; i++) {
      const pass = enc.beginComputePass(
        timestamps && (i === 0 || i === times - 1)
          ? { timestampWrites: { querySet: timestamps, ...(i === 0 ? { beginningOfPassWriteIndex: 0 } : {}), ...(i === times - 1 ? { endOfPassWriteIndex: 1 } : {}) } }
          : {},
      );
      for (const p of this.pipelines) {
        pass.setPipeline(p.pipeline);
        for (const group of this.bindGroups) {
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(...p.dispatch);
        }
      }
      pass.end();
    }
    return enc.finish();
  }

  async run(): Promise<void> {
    await checked(this.ctx, `${this.spec.name}: dispatch`, () => this.ctx.device.queue.submit([this.encode(1)]));
    await this.ctx.device.queue.onSubmittedWorkDone();
  }

  /** The first `bytes` bytes of `buffer`, copied back to the host. */
  private async readBack(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const staging = this.ctx.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: MAP_READ | COPY_DST });
    const enc = this.ctx.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, staging.size);
    this.ctx.device.queue.submit([enc.finish()]);
    await staging.mapAsync(1 /* GPUMapMode.READ */);
    const raw = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return raw;
  }

  async readOutput(): Promise<Float32Array> {
    const raw = await this.readBack(this.y!, this.spec.outputElements * this.ioBytes);
    return this.spec.io === 'f16' ? fromF16Bits(new Uint16Array(raw)) : new Float32Array(raw);
  }

  /** A counting build's counters (created with `counters`), as the calls so far left them. */
  async readCounters(): Promise<Uint32Array> {
    if (!this.counterBuffer) throw new Error(`${this.spec.name}: not a counting build`);
    return new Uint32Array(await this.readBack(this.counterBuffer, this.counters!.words * 4));
  }

  /** Median-friendly samples: each is the mean of `batch` back-to-back dispatches. */
  async measure(opts: MeasureOptions): Promise<DeviceTiming> {
    const { device } = this.ctx;
    // One sample spans ≥ 2 ms of wall time (submit overhead amortised) and ≥ 100 steps of the host
    // clock (a browser's: 5 µs, or 100 µs when the page is not cross-origin isolated). Sized from
    // doubling batches after a warm-up call (the first may compile the pipeline: timed alone, it
    // would set the batch to one dispatch). Timed by the wall, a sample also holds one submission's
    // fixed cost O: d(n) = O + n·c, so the batches double until d(2n) ≥ 1.8·d(n) (O ≤ ~11 % of a
    // sample of 2n), a sample of 20 × 2 ms or the cap, and O's share is recorded with the method
    // when it stays above 2 %.
    const hostStep = clockQuantumMs();
    const minWall = minSampleSpanMs(hostStep, 2);
    const wall = !this.ctx.timestamps;
    await this.run();
    let batch = 1;
    let prev: number | undefined;
    /** One submission's fixed cost and one dispatch's, ms, from the last two sizing runs (wall time). */
    let cost: { submit: number; dispatch: number } | undefined;
    /** Wall ms of `n` dispatches in one submission, to its completion. */
    const wallMs = async (n: number): Promise<number> => {
      const s = performance.now();
      device.queue.submit([this.encode(n)]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - s;
    };
    for (;;) {
      // The faster of two submissions (a disturbance only adds time).
      const d = Math.max(Math.min(await wallMs(batch), await wallMs(batch)), hostStep);
      if (this.ctx.lost) throw new Error(`WebGPU device lost during measurement: ${this.ctx.lost}`);
      const amortised = !wall || (prev !== undefined && d >= 1.8 * prev);
      if ((d >= minWall / 2 && amortised) || d >= 20 * minWall || batch >= MAX_BATCH) {
        const next = Math.max(batch, Math.min(MAX_BATCH, Math.ceil((minWall * batch) / d)));
        if (wall && prev !== undefined) {
          cost = { submit: Math.max(0, 2 * prev - d), dispatch: Math.max((d - prev) / (batch / 2), 1e-9) };
        }
        batch = next;
        break;
      }
      prev = d;
      batch *= 2;
    }
    const step = this.ctx.timestamps ? this.ctx.timestampStepMs : undefined;
    const query = this.ctx.timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
    const resolve = query ? device.createBuffer({ size: 16, usage: QUERY_RESOLVE | COPY_SRC }) : undefined;
    const read = query ? device.createBuffer({ size: 16, usage: MAP_READ | COPY_DST }) : undefined;
    /** GPU ms of `n` back-to-back dispatches, by timestamps. */
    const gpuMs = async (n: number): Promise<number> => {
      const cmd = this.encode(n, query);
      const enc = device.createCommandEncoder();
      enc.resolveQuerySet(query!, 0, 2, resolve!, 0);
      enc.copyBufferToBuffer(resolve!, 0, read!, 0, 16);
      device.queue.submit([cmd, enc.finish()]);
      await read!.mapAsync(1);
      const [a, b] = new BigUint64Array(read!.getMappedRange().slice(0));
      read!.unmap();
      return Number(b! - a!) / 1e6;
    };
    let samples: number[] = [];
    const collect = async (): Promise<number[]> => {
      const out: number[] = [];
      const start = performance.now();
      while (out.length < opts.minSamples || performance.now() - start < opts.timeMs) {
        out.push((await (query ? gpuMs(batch) : wallMs(batch))) / batch);
        if (this.ctx.lost) throw new Error(`WebGPU device lost during measurement: ${this.ctx.lost}`);
        if (out.length > 10_000) break;
      }
      return out;
    };
    try {
      // A quantised clock (Chrome: 0.1 ms): each sample spans at least 100 clock steps (≤ 1 %
      // error), sized from the GPU time of a pilot batch (wall time overstates short kernels).
      const quantised = query && step !== undefined && step >= 0.001;
      if (quantised) {
        const pilot = await gpuMs(batch);
        const per = pilot / batch;
        batch = callsForSpan(minSampleSpanMs(step), per, batch, MAX_BATCH);
      }
      samples = await collect();
      // The sizing runs are few and may be off (a cold start, a disturbed submission, a clock step
      // landing badly): samples spanning under half their target (100 steps of a quantised
      // timestamp clock; by the wall, 2 ms) are rounded, or overhead-bound, beyond what their
      // statistics say; take them again with the batch their median calls for.
      const target = quantised ? minSampleSpanMs(step!) : wall ? minWall : 0;
      for (let again = 0; target > 0 && again < 3 && batch < MAX_BATCH; again++) {
        const per = quantile(samples, 0.5);
        if (!samplesTooShort(per, batch, target)) break;
        batch = callsForSpan(target, Math.max(per, 1e-9), 2 * batch, MAX_BATCH);
        samples = await collect();
      }
    } finally {
      query?.destroy();
      resolve?.destroy();
      read?.destroy();
    }
    const median = quantile(samples, 0.5);
    const rounding = step !== undefined && step >= 0.001 ? clockRoundingText(step, batch, median) : '';
    const clock = step !== undefined ? `, clock step ${+step.toPrecision(3)} ms${rounding}` : query ? ', clock step unknown' : '';
    const host = hostStep >= 0.001 ? `, host clock step ${+hostStep.toPrecision(2)} ms` : '';
    const overheadShare = cost ? cost.submit / (cost.submit + batch * cost.dispatch) : 0;
    const overhead = overheadShare > 0.02 ? `, submission overhead ≈ ${(100 * overheadShare).toFixed(0)} % of a sample, included` : '';
    return { samples_ms: samples, method: query ? `timestamp-query (mean of ${batch} dispatches per sample${clock})` : `onSubmittedWorkDone wall time (mean of ${batch} dispatches per sample${host}${overhead})` };
  }

  dispose(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers = [];
  }
}
