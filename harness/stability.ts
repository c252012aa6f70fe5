/**
 * Whether a set of timing samples can be trusted. Environment-neutral (runs in Node and in pages).
 *
 * 1. Set-aside: a sample with evidence of pre-emption is kept in the record but not used: an
 *    involuntary context switch of this process during it, process CPU time well below its wall
 *    time (the calling thread not running: the hypervisor stealing the vCPU), or the
 *    calling thread waiting for a worker thread for a scheduler slice, or running the part of a
 *    worker that had not started (the sample timed fewer threads than the kernel has), or the
 *    speed canary run right after it much slower than its fastest (the core in a slow phase).
 * 2. Shape of the clean samples (MAD-based, as hyperfine warns): two clusters separated by a gap
 *    (bimodal), or many samples far beyond the median (heavy-tailed).
 * 3. Precision: the distribution-free 95 % interval of the median, relative to it.
 * A timing is stable when it has enough clean samples, no gap-separated second mode and a median
 * interval within the target. A heavy tail is reported (and re-measured) but leaves the median
 * usable, so it alone does not make a timing unstable.
 */
import { medianInterval, quantile } from './stats.js';
import type { SampleEvidence, SampleShape, SetAsideReason, TimingQuality } from './types.js';

/** Fewer clean samples than this cannot give a median worth reporting. */
export const MIN_CLEAN_SAMPLES = 10;
/** Median CI half-width target, relative (the tuner's; bench uses the same unless told). */
export const DEFAULT_TARGET_REL = 0.02;
/**
 * A sample more than this many scaled MADs from the median is far out. Timing distributions are
 * right-skewed with a MAD of a fraction of a percent, so the usual 3.5 flags every quiet run.
 */
const FAR_MADS = 5;
/** More samples far out than this fraction: heavy-tailed (reported and re-measured; the median still holds). */
const HEAVY_TAIL_FRACTION = 0.2;
/** A gap between consecutive sorted samples of at least this ratio, with this fraction of samples on each side: bimodal. */
const MODE_GAP_RATIO = 1.25;
const MODE_MIN_FRACTION = 0.1;
/**
 * A sample whose process CPU time is below this fraction of its wall time lost the calling thread
 * to something else (hypervisor steal shows only here). Only the calling thread's CPU time is
 * current when read: Linux adds other threads' time at their scheduler ticks (every 1–4 ms), so
 * worker threads are judged by the pool's own evidence (waits, parts taken over) instead.
 */
const CPU_DEFICIT = 0.75;
/** CPU time is read in microseconds: deficits smaller than this are below its resolution. */
const CPU_RESOLUTION_MS = 0.05;
/** Waiting for workers this long within one sample is a scheduler slice, not load imbalance. */
const WORKER_STALL_MS = 1;
/**
 * The speed canary this much slower than its fastest: the core is in a slow phase (docs/regressions.md:
 * the canary runs within 1.06-1.15x of its fastest between slow phases, 1.2-1.7x in them).
 */
export const SLOW_MACHINE_RATIO = 1.2;

/** The words of a timing's note that says samples from a slow phase were kept (quality.notes). */
export const SLOW_KEPT_NOTE = 'taken while the speed canary ran over';

/** Whether a timing was taken wholly in a core's slow phase: its samples the canary marked were kept for want of clean ones (its quality's notes say so). */
export function takenInSlowPhase(quality: Pick<TimingQuality, 'notes'> | undefined): boolean {
  return (quality?.notes ?? []).some((n) => n.includes(SLOW_KEPT_NOTE));
}
/** The words of the note that says the canary's marks were kept: the kernel ran no slower then. */
export const CANARY_UNRELATED_NOTE = `marked by the speed canary (over ${SLOW_MACHINE_RATIO}x its fastest) kept: the kernel ran no slower in them`;


/** Why a sample is set aside, or undefined when it is clean. */
export function disturbance(e: SampleEvidence): SetAsideReason | undefined {
  if (e.switches !== undefined && e.switches > 0) return 'preempted';
  if (e.cpu_ms !== undefined && e.cpu_ms < CPU_DEFICIT * e.wall_ms - CPU_RESOLUTION_MS) return 'cpu_deficit';
  if (e.wait_ms !== undefined && e.wait_ms > WORKER_STALL_MS) return 'worker_wait';
  // The calling thread ran a late worker's part: the sample timed fewer threads than the kernel has.
  if (e.taken_over !== undefined && e.taken_over > 0) return 'worker_late';
  if (e.canary !== undefined && e.canary > SLOW_MACHINE_RATIO) return 'slow_machine';
  return undefined;
}

/**
 * The canary's marks are weighed against the kernel's own samples once this many are marked: fewer
 * give no median worth comparing, and are set aside as marked.
 */
const MIN_MARKED_TO_WEIGH = 5;

/**
 * Splits samples into clean and set aside (evidence parallel to samples; none = all clean).
 * Samples the speed canary alone marks (slow_machine) are set aside only while at least
 * MIN_CLEAN_SAMPLES others are clean: a measurement taken wholly inside a slow phase has nothing
 * faster to be judged against and keeps them (`slowKept`, said in the quality's notes), as it would
 * without a canary; one that straddles a phase keeps its fast samples only.
 *
 * And only while the marked samples are slower: their median above the clean samples' upper
 * quartile. A slow phase slows the kernels it shows in by 1.3-1.8x; where the canary runs over
 * for a reason of its own (on the Xeon VM: 15-25 % slower in some processes than in others, the
 * kernels not), its marks carry nothing about the kernel, and setting aside
 * what they mark would only leave fewer samples. The test weighs the group, never one sample by
 * its value, so it cannot keep the fast ones and drop the slow. Kept, they are counted in
 * `canaryUnrelated` (said in the quality's notes).
 */
export function setAside(samples: readonly number[], evidence: readonly SampleEvidence[] | undefined): { clean: number[]; aside: number[]; counts: Record<SetAsideReason, number>; slowKept: number; canaryUnrelated: number } {
  const counts: Record<SetAsideReason, number> = { preempted: 0, cpu_deficit: 0, worker_wait: 0, worker_late: 0, slow_machine: 0 };
  const reasons = samples.map((_, i) => (evidence?.[i] ? disturbance(evidence[i]) : undefined));
  const cleanSamples = samples.filter((_, i) => reasons[i] === undefined);
  const marked = samples.filter((_, i) => reasons[i] === 'slow_machine');
  const keepSlow = cleanSamples.length < MIN_CLEAN_SAMPLES;
  const unrelated = !keepSlow && marked.length >= MIN_MARKED_TO_WEIGH && quantile(marked, 0.5) <= quantile(cleanSamples, 0.75);
  const clean: number[] = [];
  const aside: number[] = [];
  let slowKept = 0;
  let canaryUnrelated = 0;
  samples.forEach((s, i) => {
    const why = reasons[i];
    if (why === 'slow_machine' && (keepSlow || unrelated)) {
      if (keepSlow) slowKept++;
      else canaryUnrelated++;
      clean.push(s);
    } else if (why) {
      counts[why]++;
      aside.push(s);
    } else clean.push(s);
  });
  return { clean, aside, counts, slowKept, canaryUnrelated };
}

/** Scaled median absolute deviation (σ for normal data). */
export function mad(values: readonly number[]): number {
  const m = quantile(values, 0.5);
  return 1.4826 * quantile(values.map((v) => Math.abs(v - m)), 0.5);
}

/** Bimodal, heavy-tailed or unimodal, with the two cluster centres when bimodal. */
export function sampleShape(values: readonly number[]): { shape: SampleShape; modes?: [number, number]; outlierFraction: number } {
  const n = values.length;
  if (n < MIN_CLEAN_SAMPLES) return { shape: 'unimodal', outlierFraction: 0 };
  const s = [...values].sort((a, b) => a - b);
  const lo = Math.ceil(MODE_MIN_FRACTION * n);
  let gap = 0;
  let at = -1;
  for (let i = lo - 1; i < n - lo; i++) {
    const r = s[i]! > 0 ? s[i + 1]! / s[i]! : 1;
    if (r > gap) {
      gap = r;
      at = i;
    }
  }
  const m = quantile(s, 0.5);
  const spread = mad(s);
  const outliers = spread > 0 ? s.filter((v) => Math.abs(v - m) / spread > FAR_MADS).length : 0;
  const outlierFraction = outliers / n;
  if (gap >= MODE_GAP_RATIO && at >= 0) return { shape: 'bimodal', modes: [quantile(s.slice(0, at + 1), 0.5), quantile(s.slice(at + 1), 0.5)], outlierFraction };
  if (outlierFraction > HEAVY_TAIL_FRACTION) return { shape: 'heavy-tailed', outlierFraction };
  return { shape: 'unimodal', outlierFraction };
}

const ms = (x: number) => (x >= 0.1 ? x.toFixed(3) : x.toPrecision(2));

/** The quality of a timing: what was set aside, the clean samples' shape and precision. */
export function assessTiming(samples: readonly number[], evidence: readonly SampleEvidence[] | undefined, targetRel = DEFAULT_TARGET_REL): { quality: TimingQuality; clean: number[]; aside: number[]; slowKept: number } {
  const { clean, aside, counts, slowKept, canaryUnrelated } = setAside(samples, evidence);
  const reasons: string[] = [];
  const nAside = aside.length;
  if (clean.length < MIN_CLEAN_SAMPLES) {
    const why = Object.entries(counts).filter(([, c]) => c > 0).map(([k, c]) => `${c} ${k.replace('_', ' ')}`);
    reasons.push(`only ${clean.length} clean sample(s) of ${samples.length}${why.length ? ` (set aside: ${why.join(', ')})` : ''}`);
  }
  const shape = sampleShape(clean);
  if (shape.shape === 'bimodal') reasons.push(`bimodal samples: clusters at ${ms(shape.modes![0])} and ${ms(shape.modes![1])} ms`);
  const notes = shape.shape === 'heavy-tailed' ? [`heavy-tailed samples: ${(100 * shape.outlierFraction).toFixed(0)} % beyond ${FAR_MADS} MAD of the median`] : [];
  if (canaryUnrelated) notes.push(`${canaryUnrelated} sample(s) ${CANARY_UNRELATED_NOTE}`);
  if (slowKept) notes.push(`${slowKept} sample(s) ${SLOW_KEPT_NOTE} ${SLOW_MACHINE_RATIO}x its fastest kept: too few others to judge them against`);
  const ci = medianInterval(clean);
  const ciRel = clean.length ? Math.max(ci.hi - ci.median, ci.median - ci.lo) / ci.median : null;
  if (clean.length >= MIN_CLEAN_SAMPLES && ciRel !== null && !(ciRel <= targetRel)) reasons.push(`median CI ±${(100 * ciRel).toFixed(1)} % is wider than the target ±${(100 * targetRel).toFixed(1)} %`);
  return {
    quality: { stable: reasons.length === 0, reasons, ...(notes.length ? { notes } : {}), n_clean: clean.length, n_total: samples.length, set_aside: counts, shape: shape.shape, ci_rel: ciRel === null ? null : Math.round(ciRel * 1e4) / 1e4, target_rel: targetRel },
    clean,
    aside: nAside ? aside : [],
    slowKept,
  };
}
