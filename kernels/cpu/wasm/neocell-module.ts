/**
 * Builds the WebAssembly module of a NeoCell kernel for one problem: one exported function per
 * channel segment (group × shift sub-group: their offsets are constants in the code), each
 * `(lo, hi, scratch)` processing channels [lo, hi) of its segment for the whole batch.
 *
 * Two schedules share the passes of passes.ts:
 *   fused:  per band of A (k rows), the intermediate is that band only (k rows, in L1), consumed
 *           by the other axis right away;
 *   sparse: the whole intermediate plane first, then the second pass over it.
 * A third, tiled, has sparse's planes but forms each block product as a register-tiled matmul
 * (matmul.ts) of the block's weights with the band of rows or columns it covers.
 */
import type { AxisSpec } from '../../../core/spec.js';
import type { NeoCellProblem } from '../../../harness/types.js';
import { channelRangeFunction, wasmKernelSpec } from './kernel-spec.js';
import { emitMatmul, type MatmulTiling } from './matmul.js';
import { type DotScheme, emitHorizontal, emitVertical, LaneCounter, type MaddMode, type PassContext, type Rows, WeightLocals } from './passes.js';
import { MemoryLayout, type WasmKernelSpec, type WasmSegment } from './runtime.js';
import { axisPieces, cellSegments, type Segment, segmentOutput } from '../../../core/structure.js';

export interface NeoCellWasmOptions {
  readonly schedule: 'fused' | 'sparse' | 'tiled';
  readonly order: 'AB' | 'BA';
  readonly rowsPerStep: number;
  readonly madd: MaddMode;
  readonly threads: number;
  /** Constant address offsets in memargs or added explicitly (see FunctionBuilder.offsets). */
  readonly offsets: 'memarg' | 'add';
  readonly horizontalLoop: 'q' | 'v' | 's';
  readonly unroll: number;
  /** Narrow B blocks (2→1, 1→2) four per vector (see PassContext.packNarrow). */
  readonly packNarrow?: boolean;
  /** How block dot products are formed (passes.ts DotScheme); absent: multiply-add chains. */
  readonly dot?: DotScheme;
  /** Register tile of the tiled schedule's block matmuls. */
  readonly tile?: MatmulTiling;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Floats of scratch one thread needs. */
function scratchFloats(p: NeoCellProblem, o: NeoCellWasmOptions): number {
  let most = 0;
  for (const seg of cellSegments(p.cell)) {
    const { H_out, W_out } = segmentOutput(seg, p.H, p.W);
    const width = Math.max(p.W, W_out);
    most = Math.max(most, o.schedule === 'fused' ? Math.max(seg.a.in, seg.a.out) * width : Math.max(H_out * p.W, p.H * W_out));
  }
  return most;
}

/** Emits the body for one channel image (xb, yb, wa, wb, sc set). */
function emitImage(ctx: PassContext, p: NeoCellProblem, seg: Segment, o: NeoCellWasmOptions): void {
  const { f } = ctx;
  const { H, W } = p;
  const { H_out, W_out } = segmentOutput(seg, H, W);
  const a = seg.a;
  const offA = seg.offA;
  const rowsOf = (local: string, rows: readonly number[], width: number, base = 0): Rows => ({ local, offsets: rows.map((r) => (base + r) * width * 4) });
  const xr = f.local('xr', 'i32');
  const yr = f.local('yr', 'i32');

  if (o.schedule === 'fused') {
    const band = (ps: readonly number[], qs: readonly number[], inBase: number, outBase: number) => {
      const xRows = rowsOf(xr, qs, W, inBase);
      const yRows = rowsOf(yr, ps, W_out, outBase);
      if (o.order === 'AB') {
        const t = rowsOf('sc', range(ps.length), W);
        emitVertical(ctx, xRows, t, W, 'wa', (i, j) => (ps[i]! * a.in + qs[j]!) * 4);
        emitHorizontal(ctx, seg.b, seg.offB, W, W_out, t, yRows, 'wb', o.rowsPerStep);
      } else {
        const u = rowsOf('sc', range(qs.length), W_out);
        emitHorizontal(ctx, seg.b, seg.offB, W, W_out, xRows, u, 'wb', o.rowsPerStep);
        emitVertical(ctx, u, yRows, W_out, 'wa', (i, j) => (ps[i]! * a.in + qs[j]!) * 4);
      }
    };
    for (const pc of axisPieces(a, offA, H, H_out)) {
      if (pc.kind === 'full') {
        f.get('xb').i32((pc.t0 * a.in + offA) * W * 4).i32Add().set(xr);
        f.get('yb').i32((pc.t0 * a.out + offA) * W_out * 4).i32Add().set(yr);
        ctx.counter.times(pc.t1 - pc.t0 + 1, () =>
          f.forLoop('band', pc.t0, pc.t1 + 1, 1, () => {
            band(range(a.out), range(a.in), 0, 0);
            f.increment(xr, a.in * W * 4).increment(yr, a.out * W_out * 4);
          }),
        );
      } else {
        // A clipped band at constant t: rows addressed from the image start.
        f.get('xb').set(xr);
        f.get('yb').set(yr);
        band(pc.p, pc.q, pc.t * a.in + offA, pc.t * a.out + offA);
      }
    }
    return;
  }

  if (o.schedule === 'tiled') {
    emitTiledImage(ctx, p, seg, o.order, o.tile!);
    return;
  }

  // sparse: whole-plane passes through the scratch plane.
  const vertical = (srcBase: string, srcWidth: number, dstBase: string) => {
    for (const pc of axisPieces(a, offA, H, H_out)) {
      const ps = pc.kind === 'full' ? range(a.out) : pc.p;
      const qs = pc.kind === 'full' ? range(a.in) : pc.q;
      const emit = (inBase: number, outBase: number) =>
        emitVertical(ctx, rowsOf(xr, qs, srcWidth, inBase), rowsOf(yr, ps, srcWidth, outBase), srcWidth, 'wa', (i, j) => (ps[i]! * a.in + qs[j]!) * 4);
      if (pc.kind === 'full') {
        f.get(srcBase).i32((pc.t0 * a.in + offA) * srcWidth * 4).i32Add().set(xr);
        f.get(dstBase).i32((pc.t0 * a.out + offA) * srcWidth * 4).i32Add().set(yr);
        ctx.counter.times(pc.t1 - pc.t0 + 1, () =>
          f.forLoop('band', pc.t0, pc.t1 + 1, 1, () => {
            emit(0, 0);
            f.increment(xr, a.in * srcWidth * 4).increment(yr, a.out * srcWidth * 4);
          }),
        );
      } else {
        f.get(srcBase).set(xr);
        f.get(dstBase).set(yr);
        emit(pc.t * a.in + offA, pc.t * a.out + offA);
      }
    }
  };
  const horizontal = (srcBase: string, dstBase: string, rows: number) => {
    const step = Math.min(o.rowsPerStep, rows);
    const loops = Math.floor(rows / step);
    f.get(srcBase).set(xr);
    f.get(dstBase).set(yr);
    ctx.counter.times(loops, () =>
      f.forLoop('row', 0, loops, 1, () => {
        emitHorizontal(ctx, seg.b, seg.offB, W, W_out, rowsOf(xr, range(step), W), rowsOf(yr, range(step), W_out), 'wb', step);
        f.increment(xr, step * W * 4).increment(yr, step * W_out * 4);
      }),
    );
    const rest = rows - loops * step;
    if (rest > 0) emitHorizontal(ctx, seg.b, seg.offB, W, W_out, rowsOf(xr, range(rest), W), rowsOf(yr, range(rest), W_out), 'wb', rest);
  };
  if (o.order === 'AB') {
    vertical('xb', W, 'sc');
    horizontal('sc', 'yb', H_out);
  } else {
    horizontal('xb', 'sc', H);
    vertical('sc', W_out, 'yb');
  }
}

/**
 * The tiled schedule for one channel image: each block of A times the band of rows it covers, and
 * the band of columns each block of B covers times that block, as register-tiled matmuls; the
 * blocks' weights are read in place (A block p×q: stride a.in; B block q×j: stride b.out).
 */
function emitTiledImage(ctx: PassContext, p: NeoCellProblem, seg: Segment, order: 'AB' | 'BA', tile: MatmulTiling): void {
  const { f, counter } = ctx;
  const { H, W } = p;
  const { H_out, W_out } = segmentOutput(seg, H, W);
  const { a, b } = seg;
  const sp = f.local('tsp', 'i32');
  const dp = f.local('tdp', 'i32');
  /**
   * Every block of one axis: `at` points sp / dp at a block's first input and output (element
   * indices along the axis), `product` emits the block's matmul from them; full blocks run in a
   * loop with the pointers stepped by (in, out) elements, clipped ones alone.
   */
  const blocks = (axis: AxisSpec, offset: number, nIn: number, nOut: number, at: (inAt: number, outAt: number) => void, step: (inStep: number, outStep: number) => void, product: (ps: readonly number[], qs: readonly number[]) => void) => {
    for (const pc of axisPieces(axis, offset, nIn, nOut)) {
      if (pc.kind === 'full') {
        at(pc.t0 * axis.in + offset, pc.t0 * axis.out + offset);
        counter.times(pc.t1 - pc.t0 + 1, () =>
          f.forLoop('blk', pc.t0, pc.t1 + 1, 1, () => {
            product(range(axis.out), range(axis.in));
            step(axis.in, axis.out);
          }),
        );
      } else {
        at(pc.t * axis.in + offset + (pc.q[0] ?? 0), pc.t * axis.out + offset + (pc.p[0] ?? 0));
        product(pc.p, pc.q);
      }
    }
  };
  // A pass: dst rows ps = A block (ps × qs) · src rows qs, `width` columns.
  const vertical = (src: string, dst: string, width: number) =>
    blocks(
      a,
      seg.offA,
      H,
      H_out,
      (inAt, outAt) => {
        f.addr(src, inAt * width * 4).set(sp);
        f.addr(dst, outAt * width * 4).set(dp);
      },
      (inStep, outStep) => f.increment(sp, inStep * width * 4).increment(dp, outStep * width * 4),
      (ps, qs) => emitMatmul(f, counter, ps.length, qs.length, width, { local: 'wa', offset: (ps[0] ?? 0) * a.in + (qs[0] ?? 0), stride: a.in }, { local: sp, offset: 0, stride: width }, { local: dp, offset: 0, stride: width }, tile),
    );
  // B pass: dst columns ps of `rows` rows = src columns qs · B block (qs × ps).
  const horizontal = (src: string, srcWidth: number, dst: string, dstWidth: number, rows: number) =>
    blocks(
      b,
      seg.offB,
      W,
      W_out,
      (inAt, outAt) => {
        f.addr(src, inAt * 4).set(sp);
        f.addr(dst, outAt * 4).set(dp);
      },
      (inStep, outStep) => f.increment(sp, inStep * 4).increment(dp, outStep * 4),
      (ps, qs) => emitMatmul(f, counter, rows, qs.length, ps.length, { local: sp, offset: 0, stride: srcWidth }, { local: 'wb', offset: (qs[0] ?? 0) * b.out + (ps[0] ?? 0), stride: b.out }, { local: dp, offset: 0, stride: dstWidth }, tile),
    );
  if (order === 'AB') {
    vertical('xb', 'sc', W);
    horizontal('sc', W, 'yb', W_out, H_out);
  } else {
    horizontal('xb', W, 'sc', W_out, H);
    vertical('sc', 'yb', W_out);
  }
}

export function buildNeoCellWasm(p: NeoCellProblem, name: string, o: NeoCellWasmOptions): WasmKernelSpec {
  const { N, C, H, W } = p;
  const segs = cellSegments(p.cell);
  const layout = new MemoryLayout();
  const X = layout.alloc('x', N * C * H * W);
  const outs = segs.map((s) => segmentOutput(s, H, W));
  const { H_out, W_out } = outs[0]!;
  const Y = layout.alloc('y', N * C * H_out * W_out);
  const WA = p.cell.groups.map((g, i) => layout.alloc(`wa${i}`, g.channels * g.a.in * g.a.out));
  const WB = p.cell.groups.map((g, i) => layout.alloc(`wb${i}`, g.channels * g.b.in * g.b.out));
  const scratchBytes = Math.ceil((scratchFloats(p, o) * 4 + 16) / 64) * 64;
  layout.alloc('scratch', (scratchBytes * o.threads) / 4);

  const counter = new LaneCounter();
  const segments: WasmSegment[] = [];
  const fns = segs.map((seg, si) => {
    const f = channelRangeFunction(`seg${si}`);
    f.offsets = o.offsets;
    const ctx: PassContext = { f, madd: o.madd, counter, weights: new WeightLocals(f), horizontalLoop: o.horizontalLoop, unroll: o.unroll, packNarrow: o.packNarrow ?? false, ...(o.dot ? { dot: o.dot } : {}) };
    const aStride = seg.a.in * seg.a.out * 4;
    const bStride = seg.b.in * seg.b.out * 4;
    const cBase = seg.c0 - seg.local0; // channel index of the group's first channel
    const planeIn = H * W * 4;
    const planeOut = H_out * W_out * 4;
    for (const l of ['wa', 'wb', 'xb', 'yb']) f.local(l, 'i32');
    const before = { mults: counter.mults, adds: counter.adds };
    f.forLoop('c', 'lo', 'hi', 1, () => {
      f.get('c').i32(aStride).i32Mul().i32(WA[seg.group]! - cBase * aStride).i32Add().set('wa');
      f.get('c').i32(bStride).i32Mul().i32(WB[seg.group]! - cBase * bStride).i32Add().set('wb');
      const weightLoads = f.mark();
      f.get('c').i32(planeIn).i32Mul().i32(X).i32Add().set('xb');
      f.get('c').i32(planeOut).i32Mul().i32(Y).i32Add().set('yb');
      f.forLoop('n', 0, N, 1, () => {
        emitImage(ctx, p, seg, o);
        f.increment('xb', C * planeIn).increment('yb', C * planeOut);
      });
      f.insertAt(weightLoads, () => ctx.weights.emitLoads());
    });
    const perImage = counter.mults + counter.adds - before.mults - before.adds;
    counter.repeatSince(before, N * (seg.c1 - seg.c0));
    segments.push({ fn: f.name, c0: seg.c0, c1: seg.c1, costPerChannel: Math.max(1, perImage) });
    return f;
  });
  return wasmKernelSpec({
    name,
    functions: fns,
    layout,
    segments,
    scratchBytes,
    threads: o.threads,
    counter,
    uploads: p.cell.groups.flatMap((_, g) => [
      { region: `wa${g}`, from: 'cell-a' as const, group: g },
      { region: `wb${g}`, from: 'cell-b' as const, group: g },
    ]),
  });
}
