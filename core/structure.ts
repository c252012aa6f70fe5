/**
 * NeoCell's block structure, shared by every backend's generators: channel segments (ranges of a
 * group with the same shift offsets), the pieces of an axis (runs of full blocks and clipped
 * blocks), output sizes, the cheaper application order, where each group's weights start in the
 * concatenated arrays, the Winograd ξ of the Strassen-like variants, and the materialised A and
 * B of the dense variants. Backends import this, never each other.
 */
import { cellCost } from './flops.js';
import { materializeAxis } from './reference.js';
import { type AxisSpec, axisOutputSize, type CellSpec, shiftOffset, shiftRanges } from './spec.js';

/** The application order with fewer useful MACs ('BA' only when B first is strictly cheaper). */
export function cheaperOrder(p: { readonly cell: CellSpec; readonly N: number; readonly H: number; readonly W: number }): 'AB' | 'BA' {
  const c = cellCost(p.cell, p.N, p.H, p.W);
  return c.usefulBFirst < c.usefulAFirst ? 'BA' : 'AB';
}

/** A channel range of one group whose channels share both shift offsets (same code, own weights). */
export interface Segment {
  readonly group: number;
  /** Absolute channel range [c0, c1). */
  readonly c0: number;
  readonly c1: number;
  /** Index of c0 inside its group (for the group's weight arrays). */
  readonly local0: number;
  readonly offA: number;
  readonly offB: number;
  readonly a: AxisSpec;
  readonly b: AxisSpec;
}

export function cellSegments(cell: CellSpec): Segment[] {
  const out: Segment[] = [];
  cell.groups.forEach((g, gi) => {
    const ra = shiftRanges(g.a, g.channels);
    const rb = shiftRanges(g.b, g.channels);
    // Intersect the two axes' sub-group partitions (they differ when shift_a ≠ shift_b).
    const cuts = [...new Set([0, g.channels, ...ra.map((r) => r.start), ...rb.map((r) => r.start)])].sort((x, y) => x - y);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const s = cuts[i]!;
      const e = cuts[i + 1]!;
      const offA = ra.find((r) => s >= r.start && s < r.end)!.offset;
      const offB = rb.find((r) => s >= r.start && s < r.end)!.offset;
      out.push({ group: gi, c0: g.start + s, c1: g.start + e, local0: s, offA, offB, a: g.a, b: g.b });
    }
  });
  return out;
}

/**
 * The blocks of one axis as pieces: a run of full blocks [t0, t1] (emitted as a loop) and clipped
 * blocks at either end (emitted straight-line) with their valid block rows p and columns q.
 * Block t covers outputs t·out + offset + p and inputs t·in + offset + q.
 */
export type AxisPiece =
  | { readonly kind: 'full'; readonly t0: number; readonly t1: number }
  | { readonly kind: 'clipped'; readonly t: number; readonly p: readonly number[]; readonly q: readonly number[] };

export function axisPieces(axis: AxisSpec, offset: number, nIn: number, nOut: number): AxisPiece[] {
  const pieces: AxisPiece[] = [];
  const tMin = offset > 0 ? -1 : 0;
  const tMax = Math.floor((nOut - 1 - offset) / axis.out);
  let fullStart: number | undefined;
  const flush = (t: number) => {
    if (fullStart !== undefined) pieces.push({ kind: 'full', t0: fullStart, t1: t - 1 });
    fullStart = undefined;
  };
  for (let t = tMin; t <= tMax; t++) {
    const p: number[] = [];
    const q: number[] = [];
    for (let i = 0; i < axis.out; i++) {
      const o = t * axis.out + offset + i;
      if (o >= 0 && o < nOut) p.push(i);
    }
    for (let i = 0; i < axis.in; i++) {
      const x = t * axis.in + offset + i;
      if (x >= 0 && x < nIn) q.push(i);
    }
    if (p.length === axis.out && q.length === axis.in) {
      fullStart ??= t;
    } else {
      flush(t);
      if (p.length > 0) pieces.push({ kind: 'clipped', t, p, q });
    }
  }
  flush(tMax + 1);
  return pieces;
}

/** Spatial output size of a segment (validated by the problem already). */
export function segmentOutput(seg: Segment, H: number, W: number): { H_out: number; W_out: number } {
  return { H_out: axisOutputSize(H, seg.a, 'H'), W_out: axisOutputSize(W, seg.b, 'W') };
}

/**
 * Where each group's weights start in the concatenated per-group arrays (`concatenated()`): A and B
 * blocks, and ξ (one value per channel and output row, winogradXi).
 */
export function groupWeightOffsets(cell: CellSpec): { a: number; b: number; xi: number }[] {
  let a = 0;
  let b = 0;
  let xi = 0;
  return cell.groups.map((g) => {
    const r = { a, b, xi };
    a += g.channels * g.a.in * g.a.out;
    b += g.channels * g.b.in * g.b.out;
    xi += g.channels * g.a.out;
    return r;
  });
}

/** Per-group weight arrays concatenated into one buffer (groups in spec order). */
export function concatenated(arrs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrs.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** ξ_p = Σ_pairs a[p][2i]·a[p][2i+1] for every channel and output row, concatenated like A. */
export function winogradXi(p: { readonly cell: CellSpec }, a: readonly Float32Array[]): Float32Array {
  const out: number[] = [];
  p.cell.groups.forEach((g, gi) => {
    const w = a[gi]!;
    for (let cl = 0; cl < g.channels; cl++)
      for (let pa = 0; pa < g.a.out; pa++) {
        let xi = 0;
        const row = (cl * g.a.out + pa) * g.a.in;
        for (let i = 0; i + 1 < g.a.in; i += 2) xi += Math.fround(w[row + i]! * w[row + i + 1]!);
        out.push(xi);
      }
  });
  return Float32Array.from(out);
}

/** Materialises every channel's A_c and B_c (zeros included) as two float32 arrays. */
/** `data.problem` is a NeoCell problem (cell, C, H, W); `outShape` its output size. */
export function materializeCell(data: { readonly problem: object; readonly outShape: { readonly H: number; readonly W: number }; readonly cellWeights?: { readonly a: readonly Float32Array[]; readonly b: readonly Float32Array[] } }): { wa: Float32Array[]; wb: Float32Array[] } {
  const p = data.problem as { readonly cell: CellSpec; readonly C: number; readonly H: number; readonly W: number };
  const { H, W } = p;
  const { H: H_out, W: W_out } = data.outShape;
  const A = new Float32Array(p.C * H_out * H);
  const B = new Float32Array(p.C * W * W_out);
  p.cell.groups.forEach((g, gi) => {
    const wa = data.cellWeights!.a[gi]!;
    const wb = data.cellWeights!.b[gi]!;
    for (let cl = 0; cl < g.channels; cl++) {
      const c = g.start + cl;
      const ma = materializeAxis(g, 'a', shiftOffset(g.a, g.channels, cl), H, H_out, (pp, q) => wa[cl * g.a.out * g.a.in + pp * g.a.in + q]!);
      A.set(ma, c * H_out * H);
      // materializeAxis gives W_out × W (output-major); B_c is its transpose, W × W_out.
      const mb = materializeAxis(g, 'b', shiftOffset(g.b, g.channels, cl), W, W_out, (pp, q) => wb[cl * g.b.in * g.b.out + q * g.b.out + pp]!);
      for (let j = 0; j < W_out; j++) for (let s = 0; s < W; s++) B[c * W * W_out + s * W_out + j] = mb[j * W + s]!;
    }
  });
  return { wa: [A], wb: [B] };
}

/**
 * How a kernel's weight buffers are made from a layer's weights, as data (kernel descriptions are
 * serialisable): the per-group A or B blocks concatenated, the Winograd ξ, the materialised dense
 * A or B, the depthwise weights.
 */
export type WeightPacking = 'cell-a' | 'cell-b' | 'winograd-xi' | 'dense-a' | 'dense-b' | 'dw';

/** The weight buffers a description asks for, from the problem's data (weights, shapes). */
export function packWeights(
  kinds: readonly WeightPacking[],
  data: { readonly problem: object; readonly outShape: { readonly H: number; readonly W: number }; readonly cellWeights?: { readonly a: readonly Float32Array[]; readonly b: readonly Float32Array[] }; readonly dwWeights?: Float32Array },
): Float32Array[] {
  let dense: { wa: Float32Array[]; wb: Float32Array[] } | undefined;
  const cell = () => data.cellWeights ?? { a: [], b: [] };
  return kinds.map((k) => {
    switch (k) {
      case 'cell-a':
        return concatenated(cell().a);
      case 'cell-b':
        return concatenated(cell().b);
      case 'winograd-xi':
        return winogradXi(data.problem as { cell: CellSpec }, cell().a);
      case 'dense-a':
        return (dense ??= materializeCell(data)).wa[0]!;
      case 'dense-b':
        return (dense ??= materializeCell(data)).wb[0]!;
      case 'dw':
        return data.dwWeights ?? new Float32Array(0);
    }
  });
}
