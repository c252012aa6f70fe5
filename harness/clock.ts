/**
 * The clocks samples are read from, and the one policy that sizes a sample for its clock, shared by
 * host-clock timing (harness/timing.ts) and the WebGPU kernels' own timing (timestamp queries or the
 * wall): a sample spans at least STEPS_PER_SAMPLE steps of its clock, its batch of calls is sized
 * from a per-call estimate, and samples that fall short of half their span are taken again with
 * the batch their median calls for. Dependency-free: the WebGPU kernels import it in every host
 * (Node, the CLI's Chromium page, the tuning page's worker).
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

/** A sample spans at least this many steps of its clock: the clock's rounding is at most 1 % of it. */
export const STEPS_PER_SAMPLE = 100;

/** The shortest span of one sample on a clock of `stepMs`: STEPS_PER_SAMPLE steps, and at least `floorMs`. */
export function minSampleSpanMs(stepMs: number, floorMs = 0): number {
  return Math.max(floorMs, STEPS_PER_SAMPLE * stepMs);
}

/** Calls per sample so that calls of `perCallMs` span `spanMs`: at least `least`, at most `most` (`most` when the estimate is 0). */
export function callsForSpan(spanMs: number, perCallMs: number, least: number, most: number): number {
  return Math.min(most, Math.max(least, perCallMs > 0 ? Math.ceil(spanMs / perCallMs) : most));
}

/**
 * Samples of `calls` calls at a median of `perCallMs` each that span under half of `spanMs` are
 * rounded by the clock (or bound by a fixed overhead) beyond what their statistics say: the batch
 * was sized from an estimate that was off, and they are taken again.
 */
export function samplesTooShort(perCallMs: number, calls: number, spanMs: number): boolean {
  return perCallMs * calls < spanMs / 2;
}

/** A coarse clock's rounding of one sample relative to the median, as the timing method states it (a median interval narrower than this is the clock's, not the kernel's). */
export function clockRoundingText(stepMs: number, calls: number, medianMs: number): string {
  return medianMs > 0 ? ` (±${((100 * stepMs) / (calls * medianMs)).toFixed(1)} % of a sample)` : '';
}
