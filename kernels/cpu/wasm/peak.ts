/**
 * The WebAssembly SIMD compute ceiling of this machine: a micro-kernel of independent f32x4
 * multiply-add chains (no loads, no stores in the loop), on 1…T threads of the same worker pool the
 * kernels use. Kernels' useful GFLOP/s are reported as a fraction of it ("% of SIMD peak").
 *
 * 12 chains cover the latency of mul→add (≈ 6 cycles at 2 per cycle); a relaxed_madd chain needs
 * fewer, 12 is enough for both. Each chain converges to 1 (acc·m + c with c = 1 − m), so no
 * denormals or infinities slow it down.
 */
import { encodeModule, FunctionBuilder } from './encoder.js';
import type { MaddMode } from './passes.js';
import type { ThreadPool, WasmCall } from './threads.js';
import { MemoryLayout, partitionCalls } from './runtime.js';
import { timingFields } from '../../../harness/evaluate.js';
import { measureAdaptive } from '../../../harness/timing.js';
import { processProbe } from '../../../harness/probe.js';
import { DEFAULT_TARGET_REL } from '../../../harness/stability.js';
import type { TimingQuality } from '../../../harness/types.js';

const CHAINS = 12;
const UNROLL = 4;
/** Loop iterations per thread per call: ≈ 0.2 ms at 50 GFLOP/s, long enough to amortise the call. */
const ITERATIONS = 2000;

export function peakModule(madd: MaddMode): { bytes: Uint8Array<ArrayBuffer>; layout: MemoryLayout; flopsPerIteration: number } {
  const layout = new MemoryLayout();
  layout.alloc('scratch', 4 * CHAINS * 16); // 16 threads' accumulators
  const f = new FunctionBuilder('peak', [
    ['lo', 'i32'],
    ['hi', 'i32'],
    ['sc', 'i32'],
  ]);
  const accs = Array.from({ length: CHAINS }, (_, i) => f.local(`acc${i}`, 'v128'));
  f.local('m', 'v128');
  f.local('a', 'v128');
  // m = splat(0.999), a = splat(0.001), acc_i = splat(i / 16)
  const splat = (value: number, local: string) => {
    f.get('sc').f32Const(value).f32Store(0);
    f.get('sc').v128Load32Splat(0).set(local);
  };
  splat(0.999, 'm');
  splat(0.001, 'a');
  accs.forEach((acc, i) => splat(i / 16, acc));
  f.forLoop('i', 'lo', 'hi', 1, () => {
    for (let u = 0; u < UNROLL; u++) {
      for (const acc of accs) {
        if (madd === 'relaxed') f.get(acc).get('m').get('a').f32x4RelaxedMadd().set(acc);
        else f.get(acc).get('m').f32x4Mul().get('a').f32x4Add().set(acc);
      }
    }
  });
  accs.forEach((acc, i) => f.get('sc').get(acc).v128Store(16 * i));
  return { bytes: encodeModule([f], layout.pages, true).bytes, layout, flopsPerIteration: CHAINS * UNROLL * 4 * 2 };
}

export interface PeakResult {
  readonly threads: number;
  readonly madd: MaddMode;
  readonly gflops: number;
  /** Clean samples only (pre-empted ones set aside): a ceiling measured while the machine was busy says so. */
  readonly quality: TimingQuality;
}

/** Measures the peak for `threads` threads (pool needed when threads > 1). */
export async function measureSimdPeak(madd: MaddMode, threads: number, pool: ThreadPool | undefined, timeMs = 300): Promise<PeakResult> {
  const { bytes, layout, flopsPerIteration } = peakModule(madd);
  const memory = new WebAssembly.Memory({ initial: layout.pages, maximum: layout.pages, shared: true });
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const peak = instance.exports.peak as (lo: number, hi: number, sc: number) => void;
  // Each thread gets ITERATIONS iterations and its own scratch.
  const calls: WasmCall[][] = partitionCalls([{ fn: 'peak', c0: 0, c1: threads * ITERATIONS, costPerChannel: 1 }], threads, layout.region('scratch').offset, 16 * CHAINS);
  let id: number | undefined;
  if (threads > 1) {
    if (!pool) throw new Error(`SIMD peak on ${threads} threads needs a worker pool`);
    id = await pool.load(module, memory, calls.slice(1));
  }
  const runPart = (part: number) => {
    for (const [, lo, hi, sc] of calls[part] ?? []) peak(lo, hi, sc);
  };
  try {
    const kernel = { run: () => (id !== undefined ? pool!.run(id, () => runPart(0), runPart) : runPart(0)), ...(pool && id !== undefined ? { poolCounters: () => pool.stats() } : {}) };
    const t = timingFields(await measureAdaptive(kernel, { timeMs, minSamples: 20, warmupMs: 100 }, processProbe(kernel)), DEFAULT_TARGET_REL);
    return { threads, madd, gflops: (threads * ITERATIONS * flopsPerIteration) / (t.median_ms! * 1e6), quality: t.quality! };
  } finally {
    if (id !== undefined) pool!.drop(id);
  }
}
