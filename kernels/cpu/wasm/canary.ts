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
import type { DeviceInfo, SpeedCanary } from '../../../harness/types.js';
import type { ThreadPool } from './threads.js';
import { WasmKernel, type WasmKernelSpec } from './runtime.js';

/** 256 channels of 8×8 float32 per thread: 64 KiB in, 64 KiB out. */
const CHANNELS_PER_THREAD = 256;
/** Readings at creation, so the first samples are judged against a settled fastest time. */
const CALIBRATION_READINGS = 32;

export class WasmSpeedCanary implements SpeedCanary {
  /** The fastest this process has run the canary, ms. */
  ownFastestMs = Infinity;

  /** `rememberedMs`: the fastest time earlier processes ran it (canary-floor.ts), the floor until this process runs faster. */
  private constructor(
    private readonly kernel: WasmKernel,
    private readonly rememberedMs: number,
  ) {}

  static async create(threads: number, pool: ThreadPool | undefined, device: DeviceInfo, rememberedMs = Infinity): Promise<WasmSpeedCanary> {
    const problem = { op: 'copy', N: 1, C: CHANNELS_PER_THREAD * threads, H: 8, W: 8, dtype: 'float32' } as const;
    const kernel = await WasmKernel.create(copyWasm.generate!(problem, { threads }, device) as WasmKernelSpec, pool);
    kernel.setInput(new Float32Array(problem.C * problem.H * problem.W).fill(1));
    const canary = new WasmSpeedCanary(kernel, rememberedMs);
    for (let i = 0; i < CALIBRATION_READINGS; i++) canary.ratio();
    return canary;
  }

  /**
   * The faster of two runs (one run can meet a timer interrupt) over the fastest known. An untimed
   * run first brings the canary's buffers back into the caches: a sample of a kernel larger than
   * L2 evicts them, and a canary timed out of L3 reads 1.3x slow with the core at full speed.
   */
  ratio(): number {
    this.kernel.run();
    const t0 = performance.now();
    this.kernel.run();
    const t1 = performance.now();
    this.kernel.run();
    const t = Math.min(t1 - t0, performance.now() - t1);
    if (t < this.ownFastestMs) this.ownFastestMs = t;
    return t / Math.min(this.ownFastestMs, this.rememberedMs);
  }

  dispose(): void {
    this.kernel.dispose();
  }
}
