/**
 * Side-by-side summary of a run: per case and backend, the fastest verified NeoCell kernel next to
 * the depthwise baseline and the copy ceiling measured in the same run. Ratios only: absolute
 * times on a shared machine mean little, ratios measured together do.
 */
import type { ResultRecord } from './results.js';

export interface SummaryRow {
  readonly case: string;
  readonly backend: string;
  readonly shape: string;
  readonly label: string;
  readonly best?: ResultRecord;
  readonly dwconv?: ResultRecord;
  readonly copy?: ResultRecord;
  /** Useful GFLOP/s of the best NeoCell kernel. */
  readonly gflops?: number;
  /** best time / copy time (1 = as fast as copying the tensor). */
  readonly xCopy?: number;
  /** dwconv time / best time (> 1 = NeoCell faster). */
  readonly speedupVsDwconv?: number;
  readonly failed: number;
}

function fastest(rs: readonly ResultRecord[]): ResultRecord | undefined {
  return rs.filter((r) => r.verified && r.median_ms !== undefined).sort((a, b) => a.median_ms! - b.median_ms!)[0];
}

export function summarize(records: readonly ResultRecord[]): SummaryRow[] {
  const keys = [...new Set(records.map((r) => `${r.case ?? r.problem.label}\u0000${r.backend}`))];
  return keys.map((k) => {
    const [c, backend] = k.split('\u0000') as [string, string];
    const rs = records.filter((r) => (r.case ?? r.problem.label) === c && r.backend === backend);
    const neo = rs.filter((r) => r.problem.op === 'neocell');
    const best = fastest(neo);
    const dwconv = fastest(rs.filter((r) => r.problem.op === 'dwconv'));
    const copy = fastest(rs.filter((r) => r.problem.op === 'copy'));
    const p = (best ?? neo[0] ?? rs[0])!.problem;
    return {
      case: c,
      backend,
      shape: `${p.N}×${p.C}×${p.H}×${p.W}`,
      label: p.label,
      best,
      dwconv,
      copy,
      gflops: best ? best.flops.useful / (best.median_ms! * 1e6) : undefined,
      xCopy: best && copy ? best.median_ms! / copy.median_ms! : undefined,
      speedupVsDwconv: best && dwconv ? dwconv.median_ms! / best.median_ms! : undefined,
      failed: rs.filter((r) => !r.verified).length,
    };
  });
}
