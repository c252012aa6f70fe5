/** The CPU backend: always available; its device is the host CPU. */
import { availableParallelism, cpus } from 'node:os';
import type { Backend, DeviceInfo } from '../../harness/types.js';
import { compileCpuKernel } from './compile.js';
import { countCpuKernel } from './count.js';
import { CPU_COPY, CPU_DWCONV, CPU_NEOCELL } from './variants.js';
import { type ThreadPool, WorkerPool } from './wasm/pool.js';
import { ortDwConv } from './peers/ort-dwconv.js';
import { tfjsWasmDwConv } from './peers/tfjs-wasm-dwconv.js';
import { threadValues, type CpuSession } from './wasm/variant.js';
import { measureSimdPeak } from './wasm/peak.js';
import { WasmSpeedCanary } from './wasm/canary.js';
import { rememberedFloor, rememberFloor } from './canary-floor.js';
import { RELAXED_SIMD_AVAILABLE } from './wasm/runtime.js';

export function cpuDevice(): DeviceInfo {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const threads = availableParallelism();
  return {
    backend: 'cpu',
    description: `${model} (${threads} threads)`,
    details: { model, threads, node: process.version },
    limits: { threads },
    features: [],
  };
}

export const cpuBackend: Backend = {
  name: 'cpu',
  async open(): Promise<CpuSession> {
    // One pool per session, grown on demand; its workers stay warm between kernel calls.
    let pool: WorkerPool | undefined;
    const retired: WorkerPool[] = [];
    const device = cpuDevice();
    // One speed canary per thread count, on the pool the kernels of that count run on (a canary
    // left on a retired pool would wake its workers next to the new pool's).
    const canaries = new Map<number, { pool: ThreadPool | undefined; canary: Promise<WasmSpeedCanary> }>();
    const retiredCanaries: Promise<WasmSpeedCanary>[] = [];
    // The canary's speed depends on the CPU, the thread count and V8's code for memory.copy; `speed=p10`:
    // a window's 10th percentile once warm (wasm/canary.ts), not the fastest single reading that
    // entries without it remembered.
    const canaryKey = (threads: number) => `${device.description} | threads=${threads} | node=${process.version} | speed=p10`;
    const speedCanary = (threads: number): Promise<WasmSpeedCanary> => {
      const on = session.pool(threads);
      const known = canaries.get(threads);
      if (known && known.pool === on) return known.canary;
      if (known) retiredCanaries.push(known.canary);
      // Its calibration's fastest time is remembered at once (again at close, faster by then): a
      // process killed before its session closes still leaves the machine's speed to the next one.
      const canary = WasmSpeedCanary.create(threads, on, device, rememberedFloor(canaryKey(threads))).then((c) => {
        rememberFloor(canaryKey(threads), c.ownFastestMs);
        return c;
      });
      canaries.set(threads, { pool: on, canary });
      return canary;
    };
    const session: CpuSession = {
      backend: 'cpu',
      device,
      async ceilings() {
        const out = [];
        for (const threads of threadValues(device)) {
          for (const madd of RELAXED_SIMD_AVAILABLE ? (['plain', 'relaxed'] as const) : (['plain'] as const)) {
            const r = await measureSimdPeak(madd, threads, session.pool(threads));
            out.push({ backend: 'cpu' as const, name: 'wasm-simd-peak', params: { threads, madd }, gflops: r.gflops, method: 'independent f32x4 multiply-add chains, median of clean samples', quality: r.quality });
          }
        }
        return out;
      },
      compile: (description) => compileCpuKernel(description, (threads) => session.pool(threads)),
      countOperations: countCpuKernel,
      // NEOTUNE_SPEED_CANARY=off: time without it (as before it existed; comparisons of the two).
      ...(process.env.NEOTUNE_SPEED_CANARY === 'off' ? {} : { speedCanary }),
      pool(threads: number) {
        if (threads <= 1) return undefined;
        if (!pool || pool.size < threads - 1) {
          if (pool) retired.push(pool);
          pool = new WorkerPool(threads - 1);
        }
        return pool;
      },
      async close() {
        for (const made of retiredCanaries) (await made.catch(() => undefined))?.dispose();
        for (const [threads, made] of canaries) {
          const canary = await made.canary.catch(() => undefined);
          if (!canary) continue;
          rememberFloor(canaryKey(threads), canary.ownFastestMs);
          canary.dispose();
        }
        await Promise.all([...retired, ...(pool ? [pool] : [])].map((p) => p.close()));
      },
    };
    return session;
  },
  // The lists of kernels/cpu/variants.ts, and the peers (Node only).
  variants: [...CPU_NEOCELL.wasm, ...CPU_NEOCELL.js, CPU_DWCONV.wasm, CPU_DWCONV.js, ortDwConv, tfjsWasmDwConv, ...CPU_COPY],
};
