/**
 * The CPU backend's speed canary (harness/types.ts SpeedCanary): a copy of 64 KiB per thread
 * (copy-wasm's kernel, on the same worker pool as the kernels it watches), timed between timing
 * samples. On the 2-core VMs neotune is measured on, each core has slow phases (a neighbour on the
 * host thrashing the caches it shares) in which kernels run 1.3-1.8x slower for tens of ms to
 * seconds; a pure multiply-add loop slows by only 5-10 % then, a copy out of L2 by 1.3-1.6x,
 * tracking the kernels (correlation 0.83-0.99 over 20-ms windows; docs/regressions.md). A copy
 * through the pool times every thread of the kernel: either core's slow phase shows.
 *
 * 64 KiB each way and per thread: more than L1, well within L2, 2-3 µs a run; three runs after
 * every sample (at least 0.2 ms) cost about 4 %.
 */
import { copyWasm } from '../copy-wasm.js';
import { SLOW_MACHINE_RATIO } from '../../../harness/stability.js';
import type { DeviceInfo, SpeedCanary } from '../../../harness/types.js';
import type { ThreadPool } from './threads.js';
import { WasmKernel, type WasmKernelSpec } from './runtime.js';

/** 256 channels of 8×8 float32 per thread: 64 KiB in, 64 KiB out. */
const CHANNELS_PER_THREAD = 256;
/**
 * Readings at creation before any counts: V8 first runs WebAssembly as baseline (Liftoff) code and
 * compiles a hot function again optimised (TurboFan) after enough calls. On the Xeon VM the canary
 * read 2.4-2.8 µs for its first 800-1,300 readings and 1.9-2.0 µs once optimised (2 threads: 3.2-3.5
 * against 2.7-2.8), so a fastest time taken before would flag no slow phase for the first seconds.
 * 2,048 readings take 15-20 ms.
 */
const WARMUP_READINGS = 2048;
/**
 * The canary's speed is a low quantile of each window of WINDOW readings (the WINDOW_RANK-th
 * fastest: its 10th percentile), the fastest over the windows: the fastest single reading is an
 * extreme value that keeps falling as readings accumulate (over one process on the Xeon VM: 8 %
 * below the 1st percentile; over a day of processes, 1.71 µs against a typical process's 1.9-2.2),
 * and every reading of a typical process then read over SLOW_MACHINE_RATIO.
 */
const WINDOW = 32;
const WINDOW_RANK = 3;

/** The fastest 10th percentile of a window of readings so far (Infinity before the first window is full). */
export class WindowedSpeed {
  fastestMs = Infinity;
  private readonly window: number[] = [];

  add(ms: number): void {
    this.window.push(ms);
    if (this.window.length < WINDOW) return;
    const speed = this.window.sort((a, b) => a - b)[WINDOW_RANK]!;
    if (speed < this.fastestMs) this.fastestMs = speed;
    this.window.length = 0;
  }
}

/**
 * How long a process watches its canary before its own speed may overrule the remembered one
 * (canary-floor.ts). The remembered speed is there for a process that starts inside one of the
 * core's slow phases; a process whose canary has not come within SLOW_MACHINE_RATIO of it for this
 * long is not in a phase but on a machine that runs slower for now (the VM's level moves over
 * hours: on the Xeon VM, 2026-12-07, the canary read 2.23-2.26 µs in every process for an hour,
 * against 1.78 µs remembered from that morning), and judging it by the remembered speed would call
 * every sample slow: each measurement would run to its time cap waiting for a fast phase that does
 * not come. Once a window of its readings reaches the remembered speed again, that judges it again.
 */
export const OWN_LEVEL_AFTER_MS = 5000;

/** The time a canary reading is judged against (its ratio's denominator): the remembered speed or, past OWN_LEVEL_AFTER_MS well above it, the process's own. */
export function judgingSpeed(ownMs: number, rememberedMs: number, watchedMs: number): number {
  return watchedMs >= OWN_LEVEL_AFTER_MS && ownMs > SLOW_MACHINE_RATIO * rememberedMs ? ownMs : Math.min(ownMs, rememberedMs);
}

export class WasmSpeedCanary implements SpeedCanary {
  private readonly speed = new WindowedSpeed();
  private readonly createdAt = performance.now();

  /** The canary's speed in this process, ms: the fastest 10th percentile of a window of its readings. */
  get ownFastestMs(): number {
    return this.speed.fastestMs;
  }

  /** `rememberedMs`: the speed earlier processes measured (canary-floor.ts), the floor until this process measures a faster one. */
  private constructor(
    private readonly kernel: WasmKernel,
    private readonly rememberedMs: number,
  ) {}

  static async create(threads: number, pool: ThreadPool | undefined, device: DeviceInfo, rememberedMs = Infinity): Promise<WasmSpeedCanary> {
    const problem = { op: 'copy', N: 1, C: CHANNELS_PER_THREAD * threads, H: 8, W: 8, dtype: 'float32' } as const;
    const kernel = await WasmKernel.create(copyWasm.generate!(problem, { threads }, device) as WasmKernelSpec, pool);
    kernel.setInput(new Float32Array(problem.C * problem.H * problem.W).fill(1));
    const canary = new WasmSpeedCanary(kernel, rememberedMs);
    for (let i = 0; i < WARMUP_READINGS; i++) canary.reading();
    // One window, so the first samples are judged against a settled speed.
    for (let i = 0; i < WINDOW; i++) canary.speed.add(canary.reading());
    return canary;
  }

  /**
   * The faster of two runs (one run can meet a timer interrupt), ms. An untimed run first brings
   * the canary's buffers back into the caches: a sample of a kernel larger than L2 evicts them, and
   * a canary timed out of L3 reads 1.3x slow with the core at full speed.
   */
  private reading(): number {
    this.kernel.run();
    const t0 = performance.now();
    this.kernel.run();
    const t1 = performance.now();
    this.kernel.run();
    return Math.min(t1 - t0, performance.now() - t1);
  }

  /** A reading over the canary's speed (this process's or the remembered one: judgingSpeed). */
  ratio(): number {
    const t = this.reading();
    this.speed.add(t);
    return t / judgingSpeed(this.speed.fastestMs, this.rememberedMs, performance.now() - this.createdAt);
  }

  dispose(): void {
    this.kernel.dispose();
  }
}
