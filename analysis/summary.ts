/**
 * Side-by-side summary of a run: per case and backend, the fastest verified NeoCell kernel (and
 * each NeoCell variant's fastest point) next to every depthwise conv (own baselines and peers),
 * the copy ceiling and the compute peak measured in the same run. Ratios only: absolute times on a
 * shared machine mean little, ratios measured together do.
 */
import { copiesByBackend, devicePeak, fastestBaseline, fastestTimed, peakFor, rooflineFraction, trusted } from './plausibility.js';
import type { ResultRecord } from '../harness/results.js';
import type { CeilingRecord } from '../harness/types.js';

export interface SummaryRow {
  readonly case: string;
  readonly backend: string;
  readonly shape: string;
  readonly label: string;
  /** The fastest verified record of the row (one NeoCell variant, or all of them). */
  readonly best?: ResultRecord;
  /** Fastest verified depthwise conv of each kernel (baselines and peers), by kernel name. */
  readonly dwconvs: ReadonlyMap<string, ResultRecord>;
  /**
   * Fastest verified record of each other peer (role "peer": e.g. PyTorch's dense NeoCell, a
   * framework's tensor copy), by kernel name: compared with, never counted as, neotune's kernels.
   */
  readonly peers: ReadonlyMap<string, ResultRecord>;
  readonly copy?: ResultRecord;
  /** Useful GFLOP/s of the best NeoCell kernel. */
  readonly gflops?: number;
  /** That as a fraction of the compute peak for the same thread count (when the backend has one). */
  readonly peakFraction?: number;
  /**
   * Useful GFLOP/s over the roofline bound of this problem on this device: min(the device's best
   * compute peak at any thread count, useful FLOP/byte × the bandwidth of copying the same tensor),
   * whichever binds. Absent when the peak or the copy cannot be trusted.
   */
  readonly rooflineFraction?: number;
  /** best time / own copy ceiling's time (1 = as fast as copying the tensor). */
  readonly xCopy?: number;
  /** fastest dwconv time / best time (> 1 = NeoCell faster). */
  readonly speedupVsDwconv?: number;
  readonly failed: number;
  /** Figures of this row left out because they cannot be trusted, with why (flags of the records and ceilings used). */
  readonly withheld: readonly string[];
}

/**
 * The fastest verified record whose figures can be trusted (no flags); when none can, the fastest
 * flagged one (its figures are withheld by the row); without timings (--verify-only), the first
 * verified one.
 */
function fastest(rs: readonly ResultRecord[]): ResultRecord | undefined {
  return fastestTimed(rs) ?? rs.find((r) => r.state === 'verified');
}

/** The fastest verified record of each baseline kernel among `rs` (flagged or not: see fastestBaseline). */
function fastestPerKernel(rs: readonly ResultRecord[]): Map<string, ResultRecord> {
  const out = new Map<string, ResultRecord>();
  for (const kernel of new Set(rs.map((x) => x.kernel))) {
    const same = rs.filter((x) => x.kernel === kernel);
    const f = fastestBaseline(same) ?? same.find((r) => r.state === 'verified');
    if (f) out.set(kernel, f);
  }
  return out;
}

/** A ratio of two records' times, only when both can be trusted. */
export function trustedRatio(num: ResultRecord | undefined, den: ResultRecord | undefined): number | undefined {
  return num && den && trusted(num) && trusted(den) ? num.median_ms! / den.median_ms! : undefined;
}

function row(c: string, backend: string, rs: readonly ResultRecord[], neo: readonly ResultRecord[], ceilings: readonly CeilingRecord[], copies: readonly ResultRecord[]): SummaryRow {
  const best = fastest(neo);
  const dwconvs = fastestPerKernel(rs.filter((x) => x.problem.op === 'dwconv'));
  const dw = fastestBaseline([...dwconvs.values()]);
  const peers = fastestPerKernel(rs.filter((x) => x.role === 'peer' && x.problem.op !== 'dwconv'));
  const copy = fastest(rs.filter((r) => r.problem.op === 'copy' && r.role !== 'peer'));
  const p = (best ?? neo[0] ?? rs[0])!.problem;
  const ok = best !== undefined && trusted(best);
  const gflops = ok ? best.flops.useful / (best.median_ms! * 1e6) : undefined;
  const peak = best ? peakFor(best, ceilings) : undefined;
  const roof = rooflineFraction(best, copies, devicePeak(backend, ceilings)?.gflops);
  const withheld = [
    ...(roof.withheld ? [roof.withheld] : []),
    ...(best && best.median_ms !== undefined && !ok ? (best.flags ?? []).map((f) => `${best.kernel}: ${f}`) : []),
    ...(ok && peak?.flags?.length ? peak.flags.map((f) => `% peak: ceiling ${peak.name} ${Object.entries(peak.params).map(([k, v]) => `${k}=${v}`).join(',')}: ${f}`) : []),
    ...[...dwconvs.values(), ...(copy ? [copy] : [])].filter((r) => r.median_ms !== undefined && !trusted(r)).flatMap((r) => (r.flags ?? []).map((f) => `${r.kernel}: ${f}`)),
  ];
  return {
    case: c,
    backend,
    shape: `${p.N}×${p.C}×${p.H}×${p.W}`,
    label: p.label,
    best,
    dwconvs,
    peers,
    copy,
    gflops,
    peakFraction: gflops !== undefined && peak && !peak.flags?.length ? gflops / peak.gflops : undefined,
    rooflineFraction: roof.fraction,
    xCopy: trustedRatio(best, copy),
    speedupVsDwconv: trustedRatio(dw, best),
    failed: neo.filter((r) => r.state !== 'verified').length,
    withheld,
  };
}

function caseKeys(records: readonly ResultRecord[]): [string, string][] {
  return [...new Set(records.map((r) => `${r.case ?? r.problem.label}\u0000${r.backend}`))].map((k) => k.split('\u0000') as [string, string]);
}

/** neotune's NeoCell records (a peer's NeoCell, e.g. PyTorch's, is a comparison column instead). */
const ownNeoCell = (rs: readonly ResultRecord[]) => rs.filter((r) => r.problem.op === 'neocell' && r.role !== 'peer');

const inCase = (records: readonly ResultRecord[], c: string, backend: string) => records.filter((r) => (r.case ?? r.problem.label) === c && r.backend === backend);

/** One row per case and backend: the fastest NeoCell kernel of any variant. */
export function summarize(records: readonly ResultRecord[], ceilings: readonly CeilingRecord[] = []): SummaryRow[] {
  const copies = copiesByBackend(records);
  return caseKeys(records).map(([c, backend]) => {
    const rs = inCase(records, c, backend);
    return row(c, backend, rs, ownNeoCell(rs), ceilings, copies.get(backend) ?? []);
  });
}

/** One row per case, backend and NeoCell variant: that variant's fastest parameter point. */
export function summarizeVariants(records: readonly ResultRecord[], ceilings: readonly CeilingRecord[] = []): SummaryRow[] {
  const copies = copiesByBackend(records);
  return caseKeys(records).flatMap(([c, backend]) => {
    const rs = inCase(records, c, backend);
    const neo = ownNeoCell(rs);
    return [...new Set(neo.map((r) => r.kernel))].map((k) => row(c, backend, rs, neo.filter((r) => r.kernel === k), ceilings, copies.get(backend) ?? []));
  });
}

/** Names of the depthwise conv kernels appearing in rows (columns "vs <name>"). */
export function dwconvNames(rows: readonly SummaryRow[]): string[] {
  return [...new Set(rows.flatMap((r) => [...r.dwconvs.keys()]))].sort();
}

/** Names of the other peers appearing in rows (columns "vs <name>"). */
export function peerNames(rows: readonly SummaryRow[]): string[] {
  return [...new Set(rows.flatMap((r) => [...r.peers.keys()]))].sort();
}
