/**
 * A register-tiled f32x4 matmul D[M×P] = L[M×K]·R[K×P] of row-major (sub)matrices, emitted with
 * shapes, strides and offsets as constants. Each tile keeps `mr` rows × `nv` vectors of D in
 * registers over the whole K loop: per k, nv vector loads of R and mr broadcasts of L feed
 * mr·nv multiply-adds (4×2: 6 loads for 8 multiply-adds), and partial sums are never reloaded.
 * Widths that are not a multiple of 4 end with a vector overlapping the previous one (its columns
 * are recomputed and stored again with the same values); widths below 4 store only their lanes
 * and read up to 3 floats past R's row (inside memory: every region is followed by another or by
 * the scratch's padding).
 */
import type { FunctionBuilder } from './encoder.js';
import { type LaneCounter, mac, type MaddMode, storeLanes, vectorStarts } from './passes.js';

/** A matrix in memory: element (i, j) at byte local + 4·(offset + i·stride + j). */
export interface MatrixRef {
  readonly local: string;
  readonly offset: number;
  readonly stride: number;
}

export interface MatmulTiling {
  /** Rows of D per register tile. */
  readonly mr: number;
  /** f32x4 columns of D per register tile. */
  readonly nv: number;
  readonly madd: MaddMode;
}

export function emitMatmul(f: FunctionBuilder, counter: LaneCounter, M: number, K: number, P: number, l: MatrixRef, r: MatrixRef, d: MatrixRef, t: MatmulTiling): void {
  const li = f.local('mm_li', 'i32'); // L row of the tile
  const di = f.local('mm_di', 'i32'); // D row of the tile
  const rj = f.local('mm_rj', 'i32'); // R column of the tile
  const dj = f.local('mm_dj', 'i32'); // D column of the tile
  const lp = f.local('mm_lp', 'i32');
  const rp = f.local('mm_rp', 'i32');
  const rv = (v: number) => f.local(`mm_r${v}`, 'v128');
  const sv = f.local('mm_s', 'v128');
  const acc = (i: number, v: number) => f.local(`mm_acc${i}_${v}`, 'v128');

  /** One k step of a tile: column k of L's rows at lp, row k of R at rp. */
  const step = (rows: number, vecs: readonly { start: number; lanes: number }[]) => {
    vecs.forEach((vec, v) => f.v128Load(f.ptr(rp, vec.start * 4)).set(rv(v)));
    for (let i = 0; i < rows; i++) {
      f.v128Load32Splat(f.ptr(lp, i * l.stride * 4)).set(sv);
      vecs.forEach((_, v) => mac(f, t.madd, acc(i, v), false, () => f.get(sv), () => f.get(rv(v))));
    }
    counter.count(rows * vecs.length);
  };

  /** A tile of `rows` rows and the given vectors (columns from rj / dj). */
  const tile = (rows: number, vecs: readonly { start: number; lanes: number }[]) => {
    for (let i = 0; i < rows; i++) vecs.forEach((_, v) => f.v128Zero().set(acc(i, v)));
    // K is always a loop: unrolled (constant offsets from one pointer), the matmuls of NeoNeXt-T's
    // 7×7 and 14×14 cells ran 1.8-2.1× slower (V8 keeps every offset address in a register).
    if (K > 0) {
      f.get(li).set(lp);
      f.get(rj).set(rp);
      counter.times(K, () =>
        f.forLoop('mm_k', 0, K, 1, () => {
          step(rows, vecs);
          f.increment(lp, 4).increment(rp, r.stride * 4);
        }),
      );
    }
    for (let i = 0; i < rows; i++) vecs.forEach((vec, v) => storeLanes(f, dj, (i * d.stride + vec.start) * 4, acc(i, v), vec.lanes));
  };

  /** Every column tile of `rows` rows: whole vectors nv at a time in a loop, the rest after it. */
  const rowTile = (rows: number) => {
    const starts = vectorStarts(P);
    const loops = P >= 4 ? Math.floor(Math.floor(P / 4) / t.nv) : 0;
    f.addr(r.local, r.offset * 4).set(rj);
    f.get(di).set(dj);
    if (loops > 1)
      counter.times(loops, () =>
        f.forLoop('mm_jt', 0, loops, 1, () => {
          tile(rows, Array.from({ length: t.nv }, (_, v) => ({ start: 4 * v, lanes: 4 })));
          f.increment(rj, t.nv * 16).increment(dj, t.nv * 16);
        }),
      );
    // The loop covers the first loops·nv vectors (all whole, at 4·v); rj / dj then point past them.
    const looped = loops > 1 ? loops * t.nv : 0;
    const rest = starts.slice(looped).map((s) => ({ start: s.start - 4 * looped, lanes: s.lanes }));
    for (let k = 0; k < rest.length; k += t.nv) tile(rows, rest.slice(k, k + t.nv));
  };

  f.addr(l.local, l.offset * 4).set(li);
  f.addr(d.local, d.offset * 4).set(di);
  const loops = Math.floor(M / t.mr);
  if (loops > 1)
    counter.times(loops, () =>
      f.forLoop('mm_it', 0, loops, 1, () => {
        rowTile(t.mr);
        f.increment(li, t.mr * l.stride * 4).increment(di, t.mr * d.stride * 4);
      }),
    );
  const first = loops > 1 ? loops * t.mr : 0;
  // One tile's rows straight-line (no loop of one iteration), then the remainder.
  for (let i0 = first; i0 < M; i0 += t.mr) {
    rowTile(Math.min(t.mr, M - i0));
    if (i0 + t.mr < M) f.increment(li, t.mr * l.stride * 4).increment(di, t.mr * d.stride * 4);
  }
}
