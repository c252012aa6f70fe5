/**
 * The Node host's evidence of disturbance for each timing sample: involuntary context switches and
 * CPU time of this process (getrusage through process.resourceUsage(), all threads), plus, for a
 * thread-pool kernel, the time its calling thread spent waiting for workers and the parts it took
 * over from late ones, and the speed canary's reading after each sample where the kernel has one.
 */
import type { KernelInstance, SampleProbe } from './types.js';

/**
 * The probe of this process, or undefined where there is no process to ask (a page or a Web
 * Worker: its samples are judged by their distribution alone).
 */
export function processProbe(kernel: Pick<KernelInstance, 'poolCounters' | 'canary'>): SampleProbe | undefined {
  if (typeof process === 'undefined' || typeof process.resourceUsage !== 'function') return undefined;
  const pool = kernel.poolCounters?.bind(kernel);
  const canary = kernel.canary;
  return {
    read() {
      const u = process.resourceUsage();
      return { switches: u.involuntaryContextSwitches, cpu_ms: (u.userCPUTime + u.systemCPUTime) / 1000, ...(pool ? pool() : {}) };
    },
    ...(canary ? { speed: () => canary.ratio() } : {}),
  };
}
