/**
 * No impossible figure is printed as a result. After a run, every ceiling and every record is
 * checked against what the machine measurably can do, and what fails is flagged (the flags travel
 * with the record into JSON, tables and reports). Flagged records are never a "best" kernel, never
 * a speedup's numerator or denominator, never part of a network estimate.
 *  - a timing that is unstable (harness/stability.ts);
 *  - a kernel executing more FLOP/s than the compute peak measured in the same run (same backend and
 *    thread count), or moving more bytes per second than the copy of the same tensor: the kernel
 *    cannot be faster than the machine, so the timing (or the ceiling) is wrong;
 *  - a ceiling measured under contention: unstable, or inconsistent with the others (a T-thread
 *    peak that is not above the 1-thread peak, or above T times it);
 *  - a time measured on a software renderer (never GPU performance).
 */
import type { ResultRecord } from '../harness/results.js';
import type { CeilingRecord } from '../harness/types.js';

/** Headroom for measurement error before a figure counts as faster than its ceiling. */
export const CEILING_TOLERANCE = 1.05;
/** Copies are timed too, with their own noise and cache effects: a kernel may approach, not exceed, this. */
export const COPY_TOLERANCE = 1.25;
/** A T-thread peak must reach at least 1 + SCALING_FLOOR·(T − 1) times the 1-thread peak. */
const SCALING_FLOOR = 0.3;

export const SOFTWARE_FLAG = 'software renderer: correctness only, not GPU performance';

const threadsOf = (p: { readonly params: Readonly<Record<string, unknown>> }) => Number(p.params.threads ?? 1);
/** The kind of a ceiling apart from its thread count (e.g. the multiply-add mode). */
const kindOf = (c: CeilingRecord) => `${c.backend}\u0000${c.name}\u0000${JSON.stringify(Object.entries(c.params).filter(([k]) => k !== 'threads').sort())}`;

/** A verified, timed, unflagged record: one whose figures may be used. */
export function trusted(r: ResultRecord): boolean {
  return r.state === 'verified' && r.median_ms !== undefined && !r.flags?.length;
}

/**
 * The fastest verified, timed record, trusted ones first: a flagged one only where no trusted one
 * exists. For the kernel being reported: a faster flagged point never stands in for it.
 */
export function fastestTimed(rs: readonly ResultRecord[]): ResultRecord | undefined {
  const timed = byMedian(rs);
  return timed.find(trusted) ?? timed[0];
}

/** The verified, timed records, fastest first. */
const byMedian = (rs: readonly ResultRecord[]) => rs.filter((r) => r.state === 'verified' && r.median_ms !== undefined).sort((a, b) => a.median_ms! - b.median_ms!);

/**
 * The fastest verified, timed record whether or not it is trusted: the baseline a kernel is
 * compared with. Where that timing is flagged, the comparison is withheld; comparing with a
 * slower, trusted baseline instead would flatter the kernel.
 */
export function fastestBaseline(rs: readonly ResultRecord[]): ResultRecord | undefined {
  return byMedian(rs)[0];
}

/**
 * The copy bandwidth (GB/s) at a traffic of `bytes`, from the trusted copies of a run: bandwidth
 * depends on the working set (a smaller one stays in faster caches), so it is interpolated in
 * log(bytes) between the copies just below and just above, the nearest one's outside their range
 * (copies of the same size: the fastest). Undefined without a trusted copy.
 */
export function copyBandwidthAt(bytes: number, copies: readonly ResultRecord[]): number | undefined {
  const bySize = new Map<number, number>();
  for (const c of copies) if (trusted(c) && c.problem.op === 'copy') bySize.set(c.bytes, Math.max(bySize.get(c.bytes) ?? 0, c.bytes / (c.median_ms! * 1e6)));
  const points = [...bySize].sort((a, b) => a[0] - b[0]);
  if (!points.length) return undefined;
  if (bytes <= points[0]![0]) return points[0]![1];
  if (bytes >= points.at(-1)![0]) return points.at(-1)![1];
  const i = points.findIndex(([b]) => b >= bytes);
  const [b0, g0] = points[i - 1]!;
  const [b1, g1] = points[i]!;
  return g0 + ((g1 - g0) * Math.log(bytes / b0)) / Math.log(b1 / b0);
}

/** Each backend's own copies in the run (every size: the roofline's bandwidth at a kernel's traffic). */
export function copiesByBackend(records: readonly ResultRecord[]): Map<string, ResultRecord[]> {
  const out = new Map<string, ResultRecord[]>();
  for (const r of records) if (r.problem.op === 'copy' && r.role !== 'peer') out.set(r.backend, [...(out.get(r.backend) ?? []), r]);
  return out;
}

/**
 * The roofline bound of record `r`, GFLOP/s: min(the device's best compute peak, useful FLOP/byte
 * of r × the copy bandwidth at r's own traffic, copyBandwidthAt), from trusted figures only (else
 * undefined). With the copy of the same tensor alone, a kernel that moves fewer bytes (a 2→1 cell
 * writes a quarter of its input) measured above its bound.
 */
export function rooflineGflops(r: ResultRecord, copies: readonly ResultRecord[], peakGflops: number | undefined): number | undefined {
  const bandwidth = copyBandwidthAt(r.bytes, copies);
  if (bandwidth === undefined || peakGflops === undefined || r.problem.op === 'copy') return undefined;
  return Math.min(peakGflops, (r.flops.useful / r.bytes) * bandwidth);
}

/**
 * Above this fraction of its roofline bound a kernel's fraction is withheld: the bound rests on a
 * copy and a peak measured in the run, and a kernel beyond it by more than their noise means one
 * of them was measured too low, not that the kernel beat the machine.
 */
export const ROOFLINE_TOLERANCE = 1.1;

/**
 * Useful GFLOP/s of a trusted record over its roofline bound (rooflineGflops), or why it is not
 * given: a fraction above ROOFLINE_TOLERANCE is never printed as a result.
 */
export function rooflineFraction(r: ResultRecord | undefined, copies: readonly ResultRecord[], peakGflops: number | undefined): { fraction?: number; withheld?: string } {
  if (!r || !trusted(r)) return {};
  const bound = rooflineGflops(r, copies, peakGflops);
  if (!bound) return {};
  const fraction = r.flops.useful / (r.median_ms! * 1e6) / bound;
  if (fraction > ROOFLINE_TOLERANCE) return { withheld: `of roofline: ${r.kernel} measured ${(100 * fraction).toFixed(0)} % of its bound (${bound.toFixed(1)} GFLOP/s); the run's copy or peak was measured too low` };
  return { fraction };
}

/**
 * Merges the measurements of each ceiling (the best stable one counts: contention only lowers a
 * peak) and flags ceilings that cannot be trusted.
 */
export function checkCeilings(measured: readonly CeilingRecord[]): CeilingRecord[] {
  const groups = new Map<string, CeilingRecord[]>();
  for (const c of measured) {
    const k = `${c.backend}\u0000${c.name}\u0000${JSON.stringify(c.params)}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const merged = [...groups.values()].map((cs) => {
    const stable = cs.filter((c) => c.quality?.stable !== false);
    const best = (stable.length ? stable : cs).reduce((a, b) => (b.gflops > a.gflops ? b : a));
    const flags = stable.length ? [] : [`unstable in every measurement: ${best.quality?.reasons.join('; ') ?? 'no clean sample'}`];
    return { ...best, measurements: cs.map((c) => c.gflops), flags };
  });
  // Thread scaling: compare each T-thread peak with the 1-thread peak of the same kind.
  return merged.map((c) => {
    const t = threadsOf(c);
    const single = merged.find((o) => kindOf(o) === kindOf(c) && threadsOf(o) === 1);
    const flags = [...(c.flags ?? [])];
    if (single && t > 1 && !single.flags?.length) {
      const ratio = c.gflops / single.gflops;
      if (ratio < 1 + SCALING_FLOOR * (t - 1)) flags.push(`${t} threads reach only ${ratio.toFixed(2)}× the 1-thread peak: cores were busy`);
      if (ratio > t * CEILING_TOLERANCE) flags.push(`${t} threads reach ${ratio.toFixed(2)}× the 1-thread peak (more than ${t}×): the 1-thread peak was disturbed`);
    }
    return { ...c, flags };
  });
}

/** The compute peak a record is held to: same backend and thread count, best unflagged of any multiply-add mode. */
export function peakFor(r: { readonly backend: string; readonly params: Readonly<Record<string, unknown>> }, ceilings: readonly CeilingRecord[]): CeilingRecord | undefined {
  const t = threadsOf(r);
  const same = ceilings.filter((c) => c.backend === r.backend && c.name.endsWith('peak') && threadsOf(c) === t);
  const ok = same.filter((c) => !c.flags?.length);
  return (ok.length ? ok : same).reduce<CeilingRecord | undefined>((a, b) => (!a || b.gflops > a.gflops ? b : a), undefined);
}

/** The backend's best trusted compute peak at any thread count: what the whole device can do (a roofline's flat part). */
export function devicePeak(backend: string, ceilings: readonly CeilingRecord[]): CeilingRecord | undefined {
  return ceilings.filter((c) => c.backend === backend && c.name.endsWith('peak') && !c.flags?.length).reduce<CeilingRecord | undefined>((a, b) => (!a || b.gflops > a.gflops ? b : a), undefined);
}

const caseOf = (r: ResultRecord) => `${r.case ?? r.problem.label}\u0000${r.backend}`;

/** Flags on every record whose figures must not be used (the records are returned, changed copies). */
export function flagRecords(records: readonly ResultRecord[], ceilings: readonly CeilingRecord[], opts: { includeSoftware?: boolean } = {}): ResultRecord[] {
  const copies = new Map<string, ResultRecord>();
  for (const r of records) {
    if (r.problem.op !== 'copy' || r.role === 'peer' || r.state !== 'verified' || r.median_ms === undefined || r.quality?.stable === false) continue;
    const prev = copies.get(caseOf(r));
    if (!prev || r.median_ms < prev.median_ms!) copies.set(caseOf(r), r);
  }
  return records.map((r) => {
    if (r.state !== 'verified' || r.median_ms === undefined) return r;
    const flags: string[] = [];
    if (r.software && !opts.includeSoftware) flags.push(SOFTWARE_FLAG);
    if (r.quality && !r.quality.stable) flags.push(`unstable timing: ${r.quality.reasons.join('; ')}`);
    const peak = peakFor(r, ceilings);
    const executed = (r.flops.executed ?? r.flops.useful) / (r.median_ms * 1e6);
    if (peak && !peak.flags?.length && r.problem.op !== 'copy' && executed > peak.gflops * CEILING_TOLERANCE) {
      flags.push(`impossible: ${executed.toFixed(1)} GFLOP/s executed, above the ${peak.gflops.toFixed(1)} GFLOP/s peak measured for ${threadsOf(r)} thread(s)`);
    }
    const copy = copies.get(caseOf(r));
    if (copy && copy !== r && r.problem.op !== 'copy') {
      const bw = r.bytes / r.median_ms;
      const copyBw = copy.bytes / copy.median_ms!;
      if (bw > copyBw * COPY_TOLERANCE) flags.push(`impossible: moves ${(bw / 1e6).toFixed(1)} GB/s, ${(bw / copyBw).toFixed(1)}× the copy of the same tensor`);
    }
    return flags.length ? { ...r, flags } : r;
  });
}
