/**
 * Running generated WebAssembly kernels: the memory layout shared by a kernel's functions, the
 * kernel instance (inputs uploaded once in prepare(), like a GPU buffer, so run() times the kernel
 * alone), and the split of channels over threads.
 */
import type { ExecutedCounts, KernelDescription, KernelInstance, ProblemData } from '../../../harness/types.js';
import type { PoolStats, ThreadPool, WasmCall } from './threads.js';
import { packWeights } from '../../../core/structure.js';

// Relaxed SIMD (f32x4.relaxed_madd) is behind a flag in Node 20. V8 flags are per process, so
// worker threads see it too; it must be set before the first module is compiled. Reached through
// process.getBuiltinModule, not an import, so this module also runs in a browser (the runtime).
(globalThis as { process?: { getBuiltinModule?: (id: string) => { setFlagsFromString(f: string): void } | undefined } }).process?.getBuiltinModule?.('node:v8')?.setFlagsFromString('--experimental-wasm-relaxed-simd');

const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b,
]);
/** Whether this engine accepts f32x4.relaxed_madd (kernels fall back to mul + add without it). */
export const RELAXED_SIMD_AVAILABLE = WebAssembly.validate(RELAXED_PROBE);

const PAGE = 65536;
/** Bytes a kernel may read past the end of any region (a 4-lane load at the last element). */
const SLACK = 16;
/** Largest memory this backend allocates (shared wasm32 memories must declare their maximum). */
export const MAX_WASM_BYTES = 2 ** 31;

/** Byte offsets of named float regions, 16-byte aligned, each followed by read slack. */
export class MemoryLayout {
  private next = 64; // keep address 0 unused: a zero offset in generated code is always a bug
  readonly regions = new Map<string, { offset: number; floats: number }>();

  alloc(name: string, floats: number): number {
    const offset = this.next;
    this.regions.set(name, { offset, floats });
    this.next = Math.ceil((offset + floats * 4 + SLACK) / 16) * 16;
    return offset;
  }
  region(name: string): { offset: number; floats: number } {
    const r = this.regions.get(name);
    if (!r) throw new Error(`wasm layout: no region ${name}`);
    return r;
  }
  get bytes(): number {
    return this.next;
  }
  get pages(): number {
    return Math.ceil(this.next / PAGE);
  }
  /** The layout as data (a kernel description's). */
  data(): LayoutData {
    return { bytes: this.next, regions: Object.fromEntries(this.regions) };
  }
}

/** A memory layout as data: total bytes and the named float regions. */
export interface LayoutData {
  readonly bytes: number;
  readonly regions: Readonly<Record<string, { readonly offset: number; readonly floats: number }>>;
}

export function regionIn(layout: LayoutData, name: string): { offset: number; floats: number } {
  const r = layout.regions[name];
  if (!r) throw new Error(`wasm layout: no region ${name}`);
  return r;
}

const pagesOf = (layout: LayoutData) => Math.ceil(layout.bytes / PAGE);

/** Module bytes as base64 (descriptions are JSON-clean; btoa/atob exist in browsers and Node). */
export function bytesToBase64(bytes: Uint8Array): string {
  // Node's Buffer where there is one (several times faster); the portable form in a page.
  const buffer = (globalThis as { Buffer?: { from(b: Uint8Array): { toString(enc: 'base64'): string } } }).Buffer;
  if (buffer) return buffer.from(bytes).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A channel range of the problem processed by one exported function, with its cost per channel. */
export interface WasmSegment {
  readonly fn: string;
  readonly c0: number;
  readonly c1: number;
  readonly costPerChannel: number;
}

/**
 * Splits channels over `threads` so each thread gets about the same work (segments of different
 * block sizes cost differently per channel, e.g. the "4+7" groups).
 */
export function partitionCalls(segments: readonly WasmSegment[], threads: number, scratchBase: number, scratchBytes: number): WasmCall[][] {
  const total = segments.reduce((s, g) => s + (g.c1 - g.c0) * g.costPerChannel, 0);
  const calls: WasmCall[][] = Array.from({ length: threads }, () => []);
  let done = 0;
  let thread = 0;
  for (const g of segments) {
    let lo = g.c0;
    for (let c = g.c0; c < g.c1; c++) {
      done += g.costPerChannel;
      const boundary = ((thread + 1) * total) / threads;
      if (done >= boundary - 1e-9 && thread < threads - 1) {
        calls[thread]!.push([g.fn, lo, c + 1, scratchBase + thread * scratchBytes]);
        lo = c + 1;
        thread++;
      }
    }
    if (lo < g.c1) calls[thread]!.push([g.fn, lo, g.c1, scratchBase + thread * scratchBytes]);
  }
  return calls;
}

/** A WebAssembly kernel as data: the module (base64) and its listing, the memory layout, the call plan, the weight uploads. */
export interface WasmKernelSpec extends KernelDescription {
  readonly kind: 'wasm';
  readonly name: string;
  /** The module's text listing (what is hashed). */
  readonly source: string;
  /** The module's bytes, base64. */
  readonly module: string;
  readonly layout: LayoutData;
  readonly segments: readonly WasmSegment[];
  /** Bytes of scratch per thread, at region "scratch". */
  readonly scratchBytes: number;
  readonly threads: number;
  readonly executed?: ExecutedCounts;
  /**
   * Weight arrays copied into memory regions once per problem: a group's A or B blocks, every
   * channel's materialised A_c or B_c (dense), or the depthwise weights.
   */
  readonly uploads: readonly { readonly region: string; readonly from: 'cell-a' | 'cell-b' | 'dense-a' | 'dense-b' | 'dw'; readonly group?: number }[];
  /** A function called once after upload on every thread's scratch (e.g. zero its padding). */
  readonly init?: string;
}

type Exports = Record<string, (...args: number[]) => void>;

export class WasmKernel implements KernelInstance {
  readonly source: string;
  readonly executed?: ExecutedCounts;
  private readonly memory: WebAssembly.Memory;
  private readonly f32: Float32Array;
  private exports: Exports = {};
  private readonly calls: WasmCall[][];
  private poolId: number | undefined;

  private constructor(
    private readonly spec: WasmKernelSpec,
    private readonly pool: ThreadPool | undefined,
  ) {
    this.source = spec.source;
    this.executed = spec.executed;
    this.memory = new WebAssembly.Memory({ initial: pagesOf(spec.layout), maximum: pagesOf(spec.layout), shared: spec.threads > 1 });
    this.f32 = new Float32Array(this.memory.buffer);
    this.calls = partitionCalls(spec.segments, spec.threads, regionIn(spec.layout, 'scratch').offset, spec.scratchBytes);
  }

  /**
   * `serial`: every thread's calls run one after the other on this thread, no pool (the counting
   * build: the same calls, so the same work, counted in one instance).
   */
  static async create(spec: WasmKernelSpec, pool: ThreadPool | undefined, o: { serial?: boolean } = {}): Promise<WasmKernel> {
    if (spec.layout.bytes > MAX_WASM_BYTES) throw new Error(`${spec.name}: needs ${spec.layout.bytes} bytes of wasm memory, at most ${MAX_WASM_BYTES}`);
    if (spec.threads > 1 && !pool && !o.serial) throw new Error(`${spec.name}: ${spec.threads} threads need a worker pool`);
    const k = new WasmKernel(spec, o.serial ? undefined : pool);
    const module = await WebAssembly.compile(base64ToBytes(spec.module));
    const instance = await WebAssembly.instantiate(module, { env: { memory: k.memory } });
    k.exports = instance.exports as unknown as Exports;
    k.instanceExports = instance.exports;
    if (spec.threads > 1 && !o.serial) k.poolId = await pool!.load(module, k.memory, k.calls.slice(1));
    return k;
  }

  /** The instance's exports (the counting build's counters are read from them). */
  instanceExports: WebAssembly.Exports = {};

  prepare(data: ProblemData): void {
    const x = regionIn(this.spec.layout, 'x');
    if (data.x.length !== x.floats) throw new Error(`${this.spec.name}: input has ${data.x.length} elements, the kernel was built for ${x.floats}`);
    this.f32.set(data.x, x.offset / 4);
    // The dense matrices in one packWeights call: it materialises A_c and B_c together, once.
    const denseKinds = this.spec.uploads.flatMap((u) => (u.from === 'dense-a' || u.from === 'dense-b' ? [u.from] : []));
    const dense = denseKinds.length && data.cellWeights ? packWeights(denseKinds, data) : [];
    for (const u of this.spec.uploads) {
      const arr =
        u.from === 'dense-a' || u.from === 'dense-b'
          ? dense[denseKinds.indexOf(u.from)]
          : u.from === 'dw'
            ? data.dwWeights
            : data.cellWeights?.[u.from === 'cell-a' ? 'a' : 'b'][u.group ?? 0];
      if (!arr) throw new Error(`${this.spec.name}: the problem data has no ${u.from} weights${u.group !== undefined ? ` for group ${u.group}` : ''}`);
      this.f32.set(arr, regionIn(this.spec.layout, u.region).offset / 4);
    }
    if (this.spec.init) {
      const scratch = regionIn(this.spec.layout, 'scratch').offset;
      for (let t = 0; t < this.spec.threads; t++) this.exports[this.spec.init]!(scratch + t * this.spec.scratchBytes);
    }
  }

  setInput(x: Float32Array): void {
    const region = regionIn(this.spec.layout, 'x');
    if (x.length !== region.floats) throw new Error(`${this.spec.name}: input has ${x.length} elements, the kernel was built for ${region.floats}`);
    this.f32.set(x, region.offset / 4);
  }

  poisonOutput(): void {
    const y = regionIn(this.spec.layout, 'y');
    this.f32.fill(NaN, y.offset / 4, y.offset / 4 + y.floats);
  }

  run(): void {
    if (this.poolId !== undefined) {
      this.pool!.run(
        this.poolId,
        () => this.runCalls(this.calls[0]!),
        (part) => this.runCalls(this.calls[part] ?? []),
      );
    } else {
      for (const part of this.calls) this.runCalls(part);
    }
  }

  poolCounters(): PoolStats {
    return this.pool?.stats() ?? { wait_ms: 0, taken_over: 0 };
  }

  private runCalls(calls: readonly WasmCall[]): void {
    for (const [fn, lo, hi, scratch] of calls) this.exports[fn]!(lo, hi, scratch);
  }

  readOutput(): Float32Array {
    const y = regionIn(this.spec.layout, 'y');
    return this.f32.slice(y.offset / 4, y.offset / 4 + y.floats);
  }

  io(): { x: Float32Array; y: Float32Array } {
    const x = regionIn(this.spec.layout, 'x');
    const y = regionIn(this.spec.layout, 'y');
    return { x: this.f32.subarray(x.offset / 4, x.offset / 4 + x.floats), y: this.f32.subarray(y.offset / 4, y.offset / 4 + y.floats) };
  }

  readOutputInto(out: Float32Array): void {
    const y = regionIn(this.spec.layout, 'y');
    out.set(this.f32.subarray(y.offset / 4, y.offset / 4 + y.floats));
  }

  dispose(): void {
    if (this.poolId !== undefined) this.pool!.drop(this.poolId);
    this.poolId = undefined;
  }
}
