/**
 * float64 oracles: the NeoCell block form, the materialised dense form (what the official PyTorch
 * code computes), and a depthwise K×K convolution. Written for clarity, not speed: every kernel
 * of every backend is verified against these.
 */
import type { CellSpec, GroupSpec } from './spec.js';
import { axisTaps, cellOutputShape, shiftOffset } from './spec.js';
import { type CellWeights, blockWeight } from './weights.js';

export interface Shape4 {
  N: number;
  C: number;
  H: number;
  W: number;
}

/** Y[n, c] = A_c · X[n, c] · B_c computed from the block form (taps), A applied first. */
export function neoCellReference(x: ArrayLike<number>, shape: Shape4, cell: CellSpec, w: CellWeights): Float64Array {
  const { N, C, H, W } = shape;
  const { H_out, W_out } = cellOutputShape(cell, H, W);
  const y = new Float64Array(N * C * H_out * W_out);
  const t = new Float64Array(H_out * W);
  cell.groups.forEach((g, gi) => {
    for (let cl = 0; cl < g.channels; cl++) {
      const c = g.start + cl;
      const tapsA = axisTaps(g.a, shiftOffset(g.a, g.channels, cl), H, H_out);
      const tapsB = axisTaps(g.b, shiftOffset(g.b, g.channels, cl), W, W_out);
      for (let n = 0; n < N; n++) {
        const xBase = (n * C + c) * H * W;
        // T = A · X: row i of T mixes rows inStart..inStart+count of X.
        for (let i = 0; i < H_out; i++) {
          for (let s = 0; s < W; s++) {
            let acc = 0;
            for (let q = 0; q < tapsA.count[i]!; q++) {
              const a = blockWeight(w, gi, cell, 'a', cl, tapsA.outLocal[i]!, tapsA.inLocal0[i]! + q);
              acc += a * x[xBase + (tapsA.inStart[i]! + q) * W + s]!;
            }
            t[i * W + s] = acc;
          }
        }
        // Y = T · B: column j of Y mixes columns inStart..inStart+count of T.
        const yBase = (n * C + c) * H_out * W_out;
        for (let i = 0; i < H_out; i++) {
          for (let j = 0; j < W_out; j++) {
            let acc = 0;
            for (let q = 0; q < tapsB.count[j]!; q++) {
              const b = blockWeight(w, gi, cell, 'b', cl, tapsB.outLocal[j]!, tapsB.inLocal0[j]! + q);
              acc += t[i * W + tapsB.inStart[j]! + q]! * b;
            }
            y[yBase + i * W_out + j] = acc;
          }
        }
      }
    }
  });
  return y;
}

/**
 * Materialises the nOut × nIn matrix of one axis (M[i][j] = weight of input j for output i) by
 * placing blocks the way the official implementation does: diagonal blocks at
 * (o + t·out, o + t·in) truncated at the bottom-right edge, then, for a shift offset o > 0, the
 * o × o top-left corner filled with the bottom-right o × o part of the block.
 */
export function materializeAxis(
  group: GroupSpec,
  axis: 'a' | 'b',
  offset: number,
  nIn: number,
  nOut: number,
  weight: (outLocal: number, inLocal: number) => number,
): Float64Array {
  const spec = group[axis];
  const m = new Float64Array(nOut * nIn);
  for (let t = 0; offset + t * spec.out < nOut && offset + t * spec.in < nIn; t++) {
    const r0 = offset + t * spec.out;
    const c0 = offset + t * spec.in;
    for (let p = 0; p < spec.out && r0 + p < nOut; p++) {
      for (let q = 0; q < spec.in && c0 + q < nIn; q++) m[(r0 + p) * nIn + c0 + q] = weight(p, q);
    }
  }
  if (offset > 0) {
    const k = spec.in; // shifts exist only for square blocks
    for (let p = 0; p < offset && p < nOut; p++) {
      for (let q = 0; q < offset && q < nIn; q++) m[p * nIn + q] = weight(k - offset + p, k - offset + q);
    }
  }
  return m;
}

/** The dense form: build A_c (H_out × H) and B_c (W × W_out) and run two matmuls, per channel. */
export function neoCellDenseReference(x: ArrayLike<number>, shape: Shape4, cell: CellSpec, w: CellWeights): Float64Array {
  const { N, C, H, W } = shape;
  const { H_out, W_out } = cellOutputShape(cell, H, W);
  const y = new Float64Array(N * C * H_out * W_out);
  cell.groups.forEach((g, gi) => {
    for (let cl = 0; cl < g.channels; cl++) {
      const c = g.start + cl;
      const A = materializeAxis(g, 'a', shiftOffset(g.a, g.channels, cl), H, H_out, (p, q) => blockWeight(w, gi, cell, 'a', cl, p, q));
      // MB is W_out × W; B = MBᵀ is W × W_out.
      const MB = materializeAxis(g, 'b', shiftOffset(g.b, g.channels, cl), W, W_out, (p, q) => blockWeight(w, gi, cell, 'b', cl, p, q));
      for (let n = 0; n < N; n++) {
        const xBase = (n * C + c) * H * W;
        const t = new Float64Array(H_out * W);
        for (let i = 0; i < H_out; i++)
          for (let r = 0; r < H; r++) {
            const a = A[i * H + r]!;
            for (let s = 0; s < W; s++) t[i * W + s]! += a * x[xBase + r * W + s]!;
          }
        const yBase = (n * C + c) * H_out * W_out;
        for (let i = 0; i < H_out; i++)
          for (let j = 0; j < W_out; j++) {
            let acc = 0;
            for (let s = 0; s < W; s++) acc += t[i * W + s]! * MB[j * W + s]!;
            y[yBase + i * W_out + j] = acc;
          }
      }
    }
  });
  return y;
}

/**
 * Depthwise K×K convolution (cross-correlation, as in every framework), stride 1, zero "same"
 * padding: (K − 1) / 2 before and K / 2 after (rounded down), as PyTorch's padding='same'.
 * Weights: w[c·K·K + u·K + v].
 */
export function depthwiseConvReference(x: ArrayLike<number>, shape: Shape4, K: number, w: ArrayLike<number>): Float64Array {
  const { N, C, H, W } = shape;
  const pad = Math.floor((K - 1) / 2);
  const y = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++) {
          let acc = 0;
          for (let u = 0; u < K; u++) {
            const r = i + u - pad;
            if (r < 0 || r >= H) continue;
            for (let v = 0; v < K; v++) {
              const s = j + v - pad;
              if (s < 0 || s >= W) continue;
              acc += w[c * K * K + u * K + v]! * x[base + r * W + s]!;
            }
          }
          y[base + i * W + j] = acc;
        }
    }
  return y;
}
