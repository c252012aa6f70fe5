/**
 * The two f32x4 passes every WebAssembly NeoCell kernel is made of, emitted for one problem with
 * block sizes, offsets and widths as constants:
 *
 * - vertical (A): dst row p = Σ_q a[p][q] · src row q. Vectorised along the row: 4 columns per
 *   f32x4, the k input vectors loaded once and used by every output row; a[p][q] broadcast
 *   (load32_splat). 100 % lane use when the width is a multiple of 4; otherwise the last vector
 *   overlaps the previous one (recomputing ≤ 3 columns), and rows narrower than 4 store lane by lane.
 * - horizontal (B): dst[j] = Σ_q src[block + q] · b[q][j − block]. Within a block all output
 *   columns share their inputs, so src[q] is broadcast and multiplied by 4 consecutive entries of
 *   B's row q (contiguous in the weight layout). A block of `out` columns takes ⌈out/4⌉ vectors
 *   (7 → 2: 87.5 % lane use, the lane waste of this scheme). Several rows are done together so each
 *   B vector is loaded once for all of them.
 *
 * Addresses are (i32 local, constant byte offset) pairs so constants go into memarg offsets.
 */
import type { AxisSpec } from '../../../core/spec.js';
import type { FunctionBuilder } from './encoder.js';
import { axisPieces } from '../../../core/structure.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Multiply-accumulate style: separate f32x4.mul + f32x4.add, or f32x4.relaxed_madd. */
export type MaddMode = 'plain' | 'relaxed';

/**
 * Counts the lanes of the vector multiplies and adds a generated kernel executes (lane waste
 * included); a multiply-add counts as one of each.
 */
export class LaneCounter {
  mults = 0;
  adds = 0;
  private factor = 1;
  /** Runs `emit` with every counted operation multiplied by `trips` (a loop around it). */
  times(trips: number, emit: () => void): void {
    const f = this.factor;
    this.factor = f * trips;
    try {
      emit();
    } finally {
      this.factor = f;
    }
  }
  /** `madds` f32x4 multiply-adds. */
  count(madds: number): void {
    this.ops(madds, madds);
  }
  /** `mults` f32x4 multiplies and `adds` f32x4 adds or subtractions. */
  ops(mults: number, adds: number): void {
    this.mults += 4 * mults * this.factor;
    this.adds += 4 * adds * this.factor;
  }
  /** Everything counted since `before` repeated `trips` times in all (a loop emitted once). */
  repeatSince(before: { mults: number; adds: number }, trips: number): void {
    this.mults = before.mults + (this.mults - before.mults) * trips;
    this.adds = before.adds + (this.adds - before.adds) * trips;
  }
}

/**
 * The current channel's weights as v128 locals, loaded once per channel. Loading them inside the
 * loops as `local + offset` made V8 hoist every distinct address into its own register, spill them
 * all and reload an address before each weight load; locals spill as values instead (one
 * stack-relative load per use, no address arithmetic).
 */
export class WeightLocals {
  private readonly used = new Map<string, { base: string; offset: number; splat: boolean }>();
  private readonly computed = new Map<string, () => void>();
  constructor(private readonly f: FunctionBuilder) {}
  /** A local holding weight `base + offset` broadcast to 4 lanes. */
  splat(base: string, offset: number): string {
    return this.use(base, offset, true);
  }
  /** A local holding the 4 weights at `base + offset`. */
  vector(base: string, offset: number): string {
    return this.use(base, offset, false);
  }
  private use(base: string, offset: number, splat: boolean): string {
    const name = `${base}${splat ? 's' : 'v'}${offset}`;
    if (!this.used.has(name)) this.used.set(name, { base, offset, splat });
    return this.f.local(name, 'v128');
  }
  /**
   * A local computed once per channel from other weight locals (e.g. Winograd's ξ): `emit` pushes
   * its value and may use only locals handed out by splat() or vector() before this call.
   */
  derived(name: string, emit: () => void): string {
    if (!this.computed.has(name)) this.computed.set(name, emit);
    return this.f.local(name, 'v128');
  }
  /** Emits the loads of every local handed out so far, then the derived ones (at the channel's start). */
  emitLoads(): void {
    for (const [name, { base, offset, splat }] of this.used) {
      this.f.get(base);
      if (splat) this.f.v128Load32Splat(offset);
      else this.f.v128Load(offset);
      this.f.set(name);
    }
    for (const [name, emit] of this.computed) {
      emit();
      this.f.set(name);
    }
  }
}

export interface PassContext {
  readonly f: FunctionBuilder;
  readonly madd: MaddMode;
  readonly counter: LaneCounter;
  readonly weights: WeightLocals;
  /**
   * Loop order of the horizontal pass inside a block: inputs outer ('q') or output vectors outer
   * ('v'), each input broadcast from memory; or inputs outer with the block's inputs loaded as
   * vectors once and each broadcast by a lane shuffle ('s': a shuffle instead of a load per input,
   * for when the loads, not the multiply-adds, are the bottleneck).
   */
  readonly horizontalLoop: 'q' | 'v' | 's';
  /** Full blocks per iteration of the horizontal pass's block loop. */
  readonly unroll: number;
  /**
   * Narrow B blocks (2→1 down-sampling, 1→2 up-sampling) four at a time, one block per lane (even
   * and odd inputs separated, or the two outputs interleaved, by shuffles), instead of one block
   * per vector with 1 or 2 of its 4 lanes useful.
   */
  readonly packNarrow?: boolean;
  /**
   * How a k-term dot product of a block is formed; absent: a chain of multiply-adds. When set,
   * the horizontal pass broadcasts every input of a row once and ignores horizontalLoop.
   */
  readonly dot?: DotScheme;
}

/**
 * A way of forming Σ_j w_j · x_j for every output of a block from v128 locals: `inputs` is called
 * once per set of inputs (and may emit what every output of the set shares); the function it
 * returns emits one output's sum into `acc` from that output's weight locals (same order as xs).
 */
export interface DotScheme {
  readonly name: string;
  inputs(ctx: PassContext, xs: readonly string[]): (acc: string, ws: readonly string[]) => void;
}

/** Whether the horizontal pass has a packed form for blocks of this axis (see PassContext.packNarrow). */
export function packableNarrow(axis: AxisSpec): boolean {
  return (axis.in === 2 && axis.out === 1) || (axis.in === 1 && axis.out === 2);
}

/**
 * Four consecutive full narrow blocks of every row at sp/dp, all lanes useful:
 *  2→1: y[j] = x[2j]·b00 + x[2j+1]·b10 for j = 0…3 (8 inputs in two vectors, evens and odds shuffled apart);
 *  1→2: y[2j] = x[j]·b00, y[2j+1] = x[j]·b01 (4 inputs, the two products interleaved into 8 outputs).
 */
function emitPackedNarrow(ctx: PassContext, axis: AxisSpec, src: Rows, dst: Rows, bLocal: string, sp: string, dp: string): void {
  const { f } = ctx;
  const lo = f.local('nlo', 'v128');
  const hi = f.local('nhi', 'v128');
  const acc = f.local('nacc', 'v128');
  const w0 = ctx.weights.splat(bLocal, 0);
  const w1 = ctx.weights.splat(bLocal, 4);
  src.offsets.forEach((off, r) => {
    if (axis.in === 2) {
      f.v128Load(f.ptr(sp, off)).set(lo);
      f.v128Load(f.ptr(sp, off + 16)).set(hi);
      mac(f, ctx.madd, acc, true, () => f.get(lo).get(hi).f32x4Shuffle([0, 2, 4, 6]), () => f.get(w0));
      mac(f, ctx.madd, acc, false, () => f.get(lo).get(hi).f32x4Shuffle([1, 3, 5, 7]), () => f.get(w1));
      storeLanes(f, dp, dst.offsets[r]!, acc, 4);
    } else {
      f.v128Load(f.ptr(sp, off)).set(acc);
      mac(f, ctx.madd, lo, true, () => f.get(acc), () => f.get(w0));
      mac(f, ctx.madd, hi, true, () => f.get(acc), () => f.get(w1));
      f.get(lo).get(hi).f32x4Shuffle([0, 4, 1, 5]).set(acc);
      storeLanes(f, dp, dst.offsets[r]!, acc, 4);
      f.get(lo).get(hi).f32x4Shuffle([2, 6, 3, 7]).set(acc);
      storeLanes(f, dp, dst.offsets[r]! + 16, acc, 4);
    }
  });
  ctx.counter.count(2 * src.offsets.length);
}

/**
 * acc = (first ? 0 : acc) + a·b, where `pushA` and `pushB` push one v128 each.
 * Relaxed mode emits one f32x4.relaxed_madd (a·b + c).
 */
export function mac(f: FunctionBuilder, madd: MaddMode, acc: string, first: boolean, pushA: () => void, pushB: () => void): void {
  pushA();
  pushB();
  if (first) f.f32x4Mul();
  else if (madd === 'relaxed') f.get(acc).f32x4RelaxedMadd();
  else f.f32x4Mul().get(acc).f32x4Add();
  f.set(acc);
}

/** Stores local `value` (v128) at local + offset, only its first `lanes` lanes when lanes < 4. */
export function storeLanes(f: FunctionBuilder, addrLocal: string, offset: number, value: string, lanes: number): void {
  if (lanes >= 4) {
    const o = f.ptr(addrLocal, offset);
    f.get(value).v128Store(o);
    return;
  }
  if (lanes >= 2) {
    const o = f.ptr(addrLocal, offset);
    f.get(value).v128Store64Lane(0, o);
  }
  if (lanes === 1) {
    const o = f.ptr(addrLocal, offset);
    f.get(value).v128Store32Lane(0, o);
  }
  if (lanes === 3) {
    const o = f.ptr(addrLocal, offset + 8);
    f.get(value).v128Store32Lane(2, o);
  }
}

/** A set of rows: a base address local and each row's constant byte offset from it. */
export interface Rows {
  readonly local: string;
  readonly offsets: readonly number[];
}

/**
 * Vertical pass over `width` columns: dst.offsets[i] = Σ_j coef(i, j) · src.offsets[j], with
 * coef(i, j) at byte `coefOffset(i, j)` from local `coefLocal`.
 */
export function emitVertical(ctx: PassContext, src: Rows, dst: Rows, width: number, coefLocal: string, coefOffset: (i: number, j: number) => number): void {
  const coef = (i: number, j: number) => ctx.weights.splat(coefLocal, coefOffset(i, j));
  const { f } = ctx;
  const xs = src.offsets.map((_, j) => f.local(`vx${j}`, 'v128'));
  const acc = f.local('vacc', 'v128');
  const sp = f.local('vsp', 'i32');
  const dp = f.local('vdp', 'i32');
  const body = (lanes: number) => {
    src.offsets.forEach((off, j) => f.v128Load(f.ptr(sp, off)).set(xs[j]!));
    if (ctx.dot && xs.length > 1) {
      const output = ctx.dot.inputs(ctx, xs);
      dst.offsets.forEach((off, i) => {
        output(acc, xs.map((_, j) => coef(i, j)));
        storeLanes(f, dp, off, acc, lanes);
      });
      return;
    }
    dst.offsets.forEach((off, i) => {
      xs.forEach((x, j) =>
        mac(ctx.f, ctx.madd, acc, j === 0, () => f.get(coef(i, j)), () => f.get(x)),
      );
      if (xs.length === 0) f.v128Zero().set(acc);
      storeLanes(f, dp, off, acc, lanes);
    });
    ctx.counter.count(dst.offsets.length * src.offsets.length);
  };
  const setPointers = (colBytes: string | number) => {
    f.get(src.local);
    if (typeof colBytes === 'string') f.get(colBytes).i32Add();
    else if (colBytes !== 0) f.i32(colBytes).i32Add();
    f.set(sp);
    f.get(dst.local);
    if (typeof colBytes === 'string') f.get(colBytes).i32Add();
    else if (colBytes !== 0) f.i32(colBytes).i32Add();
    f.set(dp);
  };
  const full = Math.floor(width / 4);
  if (full > 0) {
    const col = f.local('vcol', 'i32');
    ctx.counter.times(full, () =>
      f.forLoop(col, 0, full * 16, 16, () => {
        setPointers(col);
        body(4);
      }),
    );
  }
  if (width % 4 !== 0) {
    // Width ≥ 4: one more full vector ending at the last column (recomputes a few columns).
    setPointers(width >= 4 ? (width - 4) * 4 : 0);
    body(width >= 4 ? 4 : width);
  }
}

/** Vector starts covering `n` consecutive columns: 0, 4, …, and a last one ending at n (overlapping). */
export function vectorStarts(n: number): { start: number; lanes: number }[] {
  if (n < 4) return [{ start: 0, lanes: n }];
  const starts = range(Math.floor(n / 4)).map((i) => ({ start: 4 * i, lanes: 4 }));
  if (n % 4) starts.push({ start: n - 4, lanes: 4 });
  return starts;
}

/**
 * Horizontal pass along one axis of B over the given rows (same column layout in every row):
 * src columns `nIn`, dst columns `nOut`, blocks placed at t·in + offset (inputs) and
 * t·out + offset (outputs). `rowsPerStep` rows share each loaded B vector.
 */
export function emitHorizontal(ctx: PassContext, axis: AxisSpec, offset: number, nIn: number, nOut: number, src: Rows, dst: Rows, bLocal: string, rowsPerStep: number): void {
  const { f } = ctx;
  const sp = f.local('hsp', 'i32');
  const dp = f.local('hdp', 'i32');
  /** One block: output columns ps (contiguous), inputs qs (contiguous), at sp/dp. */
  const block = (ps: readonly number[], qs: readonly number[]) => {
    const p0 = ps[0]!;
    const vecs = vectorStarts(ps.length).map((v) => ({ start: p0 + v.start, lanes: v.lanes }));
    const rowIdx = range(src.offsets.length);
    for (let r0 = 0; r0 < rowIdx.length; r0 += rowsPerStep) {
      const rows = rowIdx.slice(r0, r0 + rowsPerStep);
      if (ctx.dot && qs.length > 1) {
        // Every input of the row broadcast once; the scheme forms each output vector from them.
        const acc = f.local('hdacc', 'v128');
        const xs = qs.map((_, qi) => f.local(`hdx${qi}`, 'v128'));
        for (const r of rows) {
          qs.forEach((_, qi) => f.v128Load32Splat(f.ptr(sp, src.offsets[r]! + qi * 4)).set(xs[qi]!));
          const output = ctx.dot.inputs(ctx, xs);
          vecs.forEach((vec) => {
            output(acc, qs.map((q) => ctx.weights.vector(bLocal, (q * axis.out + vec.start) * 4)));
            storeLanes(f, dp, dst.offsets[r]! + (vec.start - p0) * 4, acc, vec.lanes);
          });
        }
        continue;
      }
      const accs = rows.map((r) => vecs.map((_, v) => f.local(`hacc${r - r0}_${v}`, 'v128')));
      // src[q] of each row, broadcast once and used by all of the block's output vectors.
      const svs = rows.map((r) => f.local(`hs${r - r0}`, 'v128'));
      const storeVector = (v: number) =>
        rows.forEach((r, ri) => {
          const vec = vecs[v]!;
          if (qs.length === 0) f.v128Zero().set(accs[ri]![v]!);
          storeLanes(f, dp, dst.offsets[r]! + (vec.start - p0) * 4, accs[ri]![v]!, vec.lanes);
        });
      // 's': the block's inputs of each row as vectors (overlapping like the outputs; a block of
      // fewer than 4 inputs reads up to 3 floats past it, inside memory: every region the pass
      // reads is followed by another or by the scratch's padding), lane-shuffled per input.
      const inVecs = vectorStarts(Math.max(4, qs.length));
      const ivs = ctx.horizontalLoop === 's' ? rows.map((r) => inVecs.map((_, i) => f.local(`hin${r - r0}_${i}`, 'v128'))) : [];
      if (ctx.horizontalLoop === 's')
        rows.forEach((r, ri) => inVecs.forEach((iv, i) => f.v128Load(f.ptr(sp, src.offsets[r]! + iv.start * 4)).set(ivs[ri]![i]!)));
      const broadcast = (ri: number, r: number, qi: number) => {
        if (ctx.horizontalLoop !== 's') {
          f.v128Load32Splat(f.ptr(sp, src.offsets[r]! + qi * 4)).set(svs[ri]!);
          return;
        }
        // The last vector that holds input qi (the overlapping one for the tail).
        const i = inVecs.reduce((last, iv, k) => (iv.start <= qi ? k : last), 0);
        const iv = ivs[ri]![i]!;
        f.get(iv).get(iv).f32x4SplatLane(qi - inVecs[i]!.start).set(svs[ri]!);
      };
      const macs = (q: number, qi: number, v: number, loadSplat: boolean) => {
        // B row q, output columns vecs[v].start… (4 consecutive weights of this channel).
        const bv = ctx.weights.vector(bLocal, (q * axis.out + vecs[v]!.start) * 4);
        rows.forEach((r, ri) => {
          if (loadSplat) broadcast(ri, r, qi);
          mac(ctx.f, ctx.madd, accs[ri]![v]!, qi === 0, () => f.get(svs[ri]!), () => f.get(bv));
        });
      };
      if (ctx.horizontalLoop !== 'v') {
        // src[q] broadcast once for all output vectors; every accumulator lives to the end.
        qs.forEach((q, qi) => vecs.forEach((_, v) => macs(q, qi, v, v === 0)));
        vecs.forEach((_, v) => storeVector(v));
      } else {
        // One output vector at a time, stored right away: src[q] is broadcast again per vector,
        // but the stores bound how far V8 hoists the loads (fewer live registers, no spills).
        vecs.forEach((_, v) => {
          qs.forEach((q, qi) => macs(q, qi, v, true));
          storeVector(v);
        });
      }
      ctx.counter.count(rows.length * vecs.length * qs.length);
    }
  };
  for (const pc of axisPieces(axis, offset, nIn, nOut)) {
    if (pc.kind === 'full') {
      const t = f.local('ht', 'i32');
      f.get(src.local).i32((pc.t0 * axis.in + offset) * 4).i32Add().set(sp);
      f.get(dst.local).i32((pc.t0 * axis.out + offset) * 4).i32Add().set(dp);
      // `unroll` blocks per loop iteration (independent work for the out-of-order core, less loop
      // overhead), the remainder straight-line after the loop.
      let blocks = pc.t1 - pc.t0 + 1;
      if (ctx.packNarrow && packableNarrow(axis) && blocks >= 4) {
        const quads = Math.floor(blocks / 4);
        const q4 = f.local('hq', 'i32');
        ctx.counter.times(quads, () =>
          f.forLoop(q4, 0, quads, 1, () => {
            emitPackedNarrow(ctx, axis, src, dst, bLocal, sp, dp);
            f.increment(sp, 4 * axis.in * 4).increment(dp, 4 * axis.out * 4);
          }),
        );
        blocks -= 4 * quads;
      }
      const u = Math.min(ctx.unroll, Math.max(1, blocks));
      const step = () => {
        block(range(axis.out), range(axis.in));
        f.increment(sp, axis.in * 4).increment(dp, axis.out * 4);
      };
      const iterations = Math.floor(blocks / u);
      if (iterations > 0)
        ctx.counter.times(iterations, () =>
          f.forLoop(t, 0, iterations, 1, () => {
            for (let i = 0; i < u; i++) step();
          }),
        );
      for (let i = 0; i < blocks - iterations * u; i++) step();
    } else {
      // Clipped block at constant t: point sp/dp at its first valid input / output column.
      f.get(src.local).i32((pc.t * axis.in + offset + pc.q[0]!) * 4).i32Add().set(sp);
      f.get(dst.local).i32((pc.t * axis.out + offset + pc.p[0]!) * 4).i32Add().set(dp);
      block(pc.p, pc.q);
    }
  }
}
