/**
 * The Node host's evidence of disturbance for each timing sample: involuntary context switches and
 * CPU time of this process (getrusage through process.resourceUsage(), all threads), plus, for a
 * thread-pool kernel, the time its calling thread spent waiting for workers and the parts it took
 * over from late ones, and the speed canary's reading after each sample where the kernel has one.
 */
import type { KernelInstance, SampleProbe } from './types.js';

/**
 * The probe of this process. Where there is no process to ask (a page or a Web Worker), the
 * kernel's own evidence only: its pool's counters and its speed canary, or undefined when it has
 * neither (its samples are then judged by their distribution alone).
 */
export function processProbe(kernel: Pick<KernelInstance, 'poolCounters' | 'canary'>): SampleProbe | undefined {
  const pool = kernel.poolCounters?.bind(kernel);
  const canary = kernel.canary;
  const node = typeof process !== 'undefined' && typeof process.resourceUsage === 'function';
  if (!node && !pool && !canary) return undefined;
  return {
    read() {
      const u = node ? process.resourceUsage() : undefined;
      return { ...(u ? { switches: u.involuntaryContextSwitches, cpu_ms: (u.userCPUTime + u.systemCPUTime) / 1000 } : {}), ...(pool ? pool() : {}) };
    },
    ...(canary ? { canary } : {}),
  };
}
