/**
 * The report's data, derived from a result file: one row per problem × backend × kernel (the
 * kernel's fastest verified parameter point) with timing statistics, useful and executed GFLOP/s,
 * bytes, speedup over depthwise conv and its place on the roofline measured on that device; the
 * network-level estimate; the per-layer FLOPs of the network with NeoCell vs depthwise 7×7.
 */
import { countNetwork, type ModelName } from '../core/network.js';
import { problemRecord } from '../harness/problem.js';
import { networkSuite } from '../suites/suite.js';
import { copiesByBackend, devicePeak, fastestBaseline, fastestTimed as fastest, rooflineFraction, rooflineGflops, trusted } from '../analysis/plausibility.js';
import type { ResultFile, ResultRecord } from '../harness/results.js';

export interface ReportRow {
  case: string;
  occurrences: number;
  backend: string;
  device: string;
  kernel: string;
  role: string;
  params: string;
  op: string;
  shape: string;
  /** Canonical cell text (problem key), e.g. "48c:k4s1+48c:k7s1". */
  spec: string;
  cell: string;
  state: string;
  median_ms: number | null;
  p10_ms: number | null;
  p90_ms: number | null;
  /** Clean samples (the median's), and all samples taken (disturbed ones set aside). */
  samples: number;
  samples_total: number;
  useful_gflops: number | null;
  executed_gflops: number | null;
  bytes: number;
  gbytes_per_s: number | null;
  /** Useful FLOPs per byte of the problem's minimum traffic. */
  intensity: number;
  /** Fastest depthwise conv time of the same case and backend / this time (NeoCell rows). */
  speedup_vs_dwconv: number | null;
  /** min(peak, intensity × bandwidth) on this device, and this kernel's fraction of it. */
  roofline_gflops: number | null;
  roofline_fraction: number | null;
  /** False when the record is flagged (unstable timing, faster than a ceiling, software renderer): its derived figures are null and it is left out of charts and estimates. */
  trusted: boolean;
  /** The record's flags, joined. */
  flags: string;
  /** The exact lane: operations one call executes, the classes that are not zero ("vector_madds=68656 vector_loads=44148 …"). */
  operations: string;
}

export interface DeviceCeilings {
  readonly backend: string;
  readonly device: string;
  /** From the copy kernel: bytes / time, GB/s. */
  readonly bandwidth_gbs: number | null;
  /** Best compute peak measured (any thread count), GFLOP/s. */
  readonly peak_gflops: number | null;
}

const caseOf = (r: ResultRecord) => r.case ?? r.problem.label;

export function deviceCeilings(f: ResultFile): DeviceCeilings[] {
  const backends = [...new Set(f.records.map((r) => r.backend))];
  return backends.map((b) => {
    const copies = f.records.filter((r) => r.backend === b && r.problem.op === 'copy' && r.role !== 'peer' && trusted(r));
    const bw = copies.length ? Math.max(...copies.map((r) => r.bytes / (r.median_ms! * 1e6))) : null;
    return { backend: b, device: f.records.find((r) => r.backend === b)?.device ?? b, bandwidth_gbs: bw, peak_gflops: devicePeak(b, f.ceilings ?? [])?.gflops ?? null };
  });
}

export function reportRows(f: ResultFile): ReportRow[] {
  const ceilings = new Map(deviceCeilings(f).map((c) => [c.backend, c]));
  const groups = new Map<string, ResultRecord[]>();
  for (const r of f.records) {
    const k = `${caseOf(r)}\u0000${r.backend}\u0000${r.kernel}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const copies = copiesByBackend(f.records);
  const rows: ReportRow[] = [];
  for (const rs of groups.values()) {
    const best = fastest(rs) ?? rs[0]!;
    const c = ceilings.get(best.backend);
    // The baseline at its fastest (a flagged one withholds the speedup).
    const dw = fastestBaseline(f.records.filter((x) => caseOf(x) === caseOf(best) && x.backend === best.backend && x.problem.op === 'dwconv'));
    const t = best.state === 'verified' && best.median_ms !== undefined ? best.median_ms : null;
    // Derived figures only from trusted timings: a flagged one is listed with its flags, nothing more.
    const ok = trusted(best);
    const tt = ok ? t : null;
    const intensity = best.flops.useful / best.bytes;
    const ownCopies = copies.get(best.backend) ?? [];
    const peak = c?.peak_gflops ?? undefined;
    const roof = rooflineGflops(best, ownCopies, peak) ?? null;
    const useful = tt ? best.flops.useful / (tt * 1e6) : null;
    const p = best.problem;
    rows.push({
      case: caseOf(best),
      occurrences: best.occurrences ?? 1,
      backend: best.backend,
      device: best.device,
      kernel: best.kernel,
      role: best.role,
      params: Object.entries(best.params).map(([k, v]) => `${k}=${v}`).join(' '),
      op: p.op,
      shape: `${p.N}x${p.C}x${p.H}x${p.W}`,
      spec: p.spec,
      cell: p.label,
      state: best.state,
      median_ms: t,
      p10_ms: best.p10_ms ?? null,
      p90_ms: best.p90_ms ?? null,
      samples: best.samples_ms?.length ?? 0,
      samples_total: best.quality?.n_total ?? best.samples_ms?.length ?? 0,
      useful_gflops: useful,
      executed_gflops: tt && best.flops.executed !== null ? best.flops.executed / (tt * 1e6) : null,
      bytes: best.bytes,
      gbytes_per_s: tt ? best.bytes / (tt * 1e6) : null,
      intensity,
      speedup_vs_dwconv: tt && dw && trusted(dw) && p.op === 'neocell' ? dw.median_ms! / tt : null,
      roofline_gflops: roof,
      // Withheld (null) above its bound's tolerance: see rooflineFraction.
      roofline_fraction: rooflineFraction(best, ownCopies, peak).fraction ?? null,
      trusted: ok,
      flags: (best.flags ?? []).join('; '),
      operations: Object.entries(best.operations ?? {})
        .filter(([, v]) => v !== 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    });
  }
  return rows;
}

export interface NetworkEstimate {
  readonly model: string;
  readonly backend: string;
  /** Σ over the network's NeoCell problems of the best NeoCell time × occurrences, ms per forward pass. */
  readonly neocell_ms: number;
  /** The same with the best depthwise 7×7 conv of each problem's output shape. */
  readonly dwconv_ms: number;
  readonly speedup: number;
  readonly problems: number;
}

const MODELS: readonly ModelName[] = ['t', 's', 'b'];

/**
 * What a model author gains, per backend: the summed NeoCell time of one forward pass vs the same
 * layers as depthwise 7×7 convs, for every NeoNeXt model (T, S, B at the run's batch and 224)
 * whose NeoCell problems were all measured. T and S share their problems (S only has more blocks),
 * so one NeoNeXt-T run estimates both; B needs its own run.
 */
export function networkEstimate(rows: readonly ReportRow[]): NetworkEstimate[] {
  const out: NetworkEstimate[] = [];
  const batches = [...new Set(rows.filter((r) => r.op === 'neocell').map((r) => Number(r.shape.split('x')[0])))];
  for (const backend of [...new Set(rows.map((r) => r.backend))]) {
    // NeoCell: the fastest trusted kernel; the depthwise conv: the fastest, and no estimate when its timing is flagged.
    const bestOf = (shape: string, spec: string, op: string) => {
      const rs = rows.filter((r) => r.backend === backend && r.op === op && r.median_ms !== null && r.shape === shape && (op !== 'neocell' || r.spec === spec)).sort((x, y) => x.median_ms! - y.median_ms!);
      return op === 'neocell' ? rs.find((r) => r.trusted) : rs[0]?.trusted ? rs[0] : undefined;
    };
    for (const N of batches) {
      for (const model of MODELS) {
        let neo = 0;
        let dw = 0;
        // The suite's cases are the network's NeoCell problems with their depthwise conv of the same output.
        const cells = networkSuite(model, 224, { batch: N }).cases;
        const complete = cells.every((c) => {
          const shape = (q: { N: number; C: number; H: number; W: number }) => `${q.N}x${q.C}x${q.H}x${q.W}`;
          const n = bestOf(shape(c.neocell), problemRecord(c.neocell).spec, 'neocell');
          const d = bestOf(shape(c.dwconv), '', 'dwconv');
          if (!n || !d) return false;
          neo += n.median_ms! * c.occurrences;
          dw += d.median_ms! * c.occurrences;
          return true;
        });
        if (complete) out.push({ model: `NeoNeXt-${model.toUpperCase()} @224, batch ${N}`, backend, neocell_ms: neo, dwconv_ms: dw, speedup: dw / neo, problems: cells.length });
      }
    }
  }
  return out;
}

/** Per-layer MACs of NeoNeXt-`model`: each NeoCell layer (× occurrences) vs a depthwise 7×7 there. */
export function layerFlops(model: ModelName, resolution: number): { layer: string; neocell_mmacs: number; dwconv7_mmacs: number }[] {
  return countNetwork(model, resolution)
    .layers.filter((l) => l.kind === 'neocell' || l.kind === 'neocell-down')
    .map((l) => ({
      layer: `${l.name}${l.occurrences > 1 ? ` ×${l.occurrences}` : ''}`,
      neocell_mmacs: ((l.neocell?.useful ?? l.macs) * l.occurrences) / 1e6,
      dwconv7_mmacs: l.kind === 'neocell' ? (l.C * l.H * l.W * 49 * l.occurrences) / 1e6 : 0,
    }));
}
