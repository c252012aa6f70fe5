/**
 * What every WebAssembly SIMD variant of the CPU backend shares: the parameters that are about the
 * machine rather than the schedule (threads, multiply-add instruction) and their constraints, and
 * the session a multi-threaded kernel runs on (its worker pool).
 */
import type { BackendSession, DeviceInfo, KernelDescription, KernelInstance, ParamDecl, Params } from '../../../harness/types.js';
import type { ThreadPool } from './threads.js';
import { MAX_WASM_BYTES, RELAXED_SIMD_AVAILABLE } from './runtime.js';

/** A CPU session that can lend a worker pool with at least `threads − 1` workers. */
export interface CpuSession extends BackendSession {
  pool(threads: number): ThreadPool | undefined;
  compile(description: KernelDescription): Promise<KernelInstance>;
}

export function threadValues(device: DeviceInfo): number[] {
  const most = Math.max(1, Math.min(device.limits.threads ?? 1, 8));
  return [1, 2, 4, 8].filter((t) => t <= most);
}

export function machineParams(device: DeviceInfo): ParamDecl[] {
  return [
    { name: 'threads', values: threadValues(device), doc: 'worker threads over channel ranges (the calling thread is one of them)' },
    { name: 'madd', values: ['relaxed', 'plain'], doc: 'f32x4.relaxed_madd (fused where the CPU has FMA) or f32x4.mul + f32x4.add' },
  ];
}

export function machineDefaults(device: DeviceInfo): Params {
  return { threads: Math.min(2, Math.max(...threadValues(device))), madd: RELAXED_SIMD_AVAILABLE ? 'relaxed' : 'plain' };
}

export function checkMachineParams(params: Params, bytes: number): string | undefined {
  if (params.madd === 'relaxed' && !RELAXED_SIMD_AVAILABLE) return 'madd=relaxed: this engine does not accept relaxed SIMD (f32x4.relaxed_madd); use madd=plain';
  if (bytes > MAX_WASM_BYTES) return `the problem needs ${bytes} bytes of WebAssembly memory, at most ${MAX_WASM_BYTES}`;
  return undefined;
}
