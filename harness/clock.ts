/**
 * The host clock's step. Dependency-free: the WebGPU kernels import it in every host (Node, the
 * CLI's Chromium page, the tuning page's worker).
 */
let quantum: number | undefined;

/**
 * The host clock's step, ms: the smallest advance of performance.now() between successive
 * readings (measured once). Node's is below a microsecond; browsers coarsen theirs (Chromium:
 * 5 µs when the page is cross-origin isolated, 100 µs otherwise).
 */
export function clockQuantumMs(): number {
  if (quantum !== undefined) return quantum;
  let step = Infinity;
  let last = performance.now();
  for (let seen = 0, i = 0; seen < 20 && i < 10_000_000; i++) {
    const t = performance.now();
    if (t > last) {
      step = Math.min(step, t - last);
      last = t;
      seen++;
    }
  }
  return (quantum = Number.isFinite(step) ? step : 1);
}
