/**
 * FLOP and bytes model of one NeoCell (and of the kernels that stand next to it). All counts are
 * multiply-adds (MACs); FLOPs = 2 · MACs.
 *
 * Conventions, side by side because published figures mix them:
 *  - nominal:  the paper's per-output cost, C·(H_out·W·h_in + H_out·W_out·w_in) with A first
 *              (2k per output for square k), zeros of partial blocks counted as work;
 *  - useful:   exact non-zeros of A and B (truncated last blocks and shift corners skipped);
 *  - dense:    what the official implementation executes with materialised matrices,
 *              C·(H_out·H·W + H_out·W·W_out);
 *  - dwconv:   a depthwise K×K convolution producing the same output, C·H_out·W_out·K².
 */
import type { CellSpec } from './spec.js';
import { axisTaps, cellOutputShape, shiftRanges } from './spec.js';

export interface CellCost {
  readonly H_out: number;
  readonly W_out: number;
  /** Nominal MACs, A applied first / B applied first. */
  readonly nominalAFirst: number;
  readonly nominalBFirst: number;
  /** Exact non-zero MACs, A applied first / B applied first. */
  readonly usefulAFirst: number;
  readonly usefulBFirst: number;
  /** Cheaper of the two application orders (exact). */
  readonly useful: number;
  readonly dense: number;
  /** Minimum bytes moved: read X once, write Y once, read the weights once. */
  readonly bytes: { readonly input: number; readonly output: number; readonly weights: number; readonly total: number };
  readonly params: number;
}

/** Costs of one NeoCell application on an N × C × H × W tensor. `elementBytes` = 4 for float32. */
export function cellCost(cell: CellSpec, N: number, H: number, W: number, elementBytes = 4): CellCost {
  const { H_out, W_out } = cellOutputShape(cell, H, W);
  let nominalA = 0;
  let nominalB = 0;
  let usefulA = 0;
  let usefulB = 0;
  let dense = 0;
  let params = 0;
  for (const g of cell.groups) {
    nominalA += g.channels * (H_out * W * g.a.in + H_out * W_out * g.b.in);
    nominalB += g.channels * (H * W_out * g.b.in + H_out * W_out * g.a.in);
    dense += g.channels * (H_out * H * W + H_out * W * W_out);
    params += g.channels * (g.a.in * g.a.out + g.b.in * g.b.out);
    // Exact non-zeros depend on the shift offset, i.e. on the sub-group; sum over the channels of each.
    const nnzA = nnzByChannel(g.a, g.channels, H, H_out);
    const nnzB = nnzByChannel(g.b, g.channels, W, W_out);
    for (let c = 0; c < g.channels; c++) {
      usefulA += nnzA[c]! * W + H_out * nnzB[c]!;
      usefulB += H * nnzB[c]! + nnzA[c]! * W_out;
    }
  }
  const C = cell.C;
  const input = N * C * H * W * elementBytes;
  const output = N * C * H_out * W_out * elementBytes;
  const weights = params * elementBytes;
  return {
    H_out,
    W_out,
    nominalAFirst: N * nominalA,
    nominalBFirst: N * nominalB,
    usefulAFirst: N * usefulA,
    usefulBFirst: N * usefulB,
    useful: N * Math.min(usefulA, usefulB),
    dense: N * dense,
    bytes: { input, output, weights, total: input + output + weights },
    params,
  };
}

function nnzByChannel(axis: CellSpec['groups'][number]['a'], channels: number, nIn: number, nOut: number): number[] {
  const out = new Array<number>(channels).fill(0);
  for (const r of shiftRanges(axis, channels)) {
    const taps = axisTaps(axis, r.offset, nIn, nOut);
    let nnz = 0;
    for (let i = 0; i < nOut; i++) nnz += taps.count[i]!;
    for (let c = r.start; c < r.end; c++) out[c] = nnz;
  }
  return out;
}

/** MACs of a depthwise K×K conv (stride 1, same padding counted as full windows) on N × C × H × W. */
export function dwconvMacs(N: number, C: number, H: number, W: number, K: number): number {
  return N * C * H * W * K * K;
}

/** Bytes of a depthwise conv: read X, write Y, read C·K² weights. */
export function dwconvBytes(N: number, C: number, H: number, W: number, K: number, elementBytes = 4): number {
  return (2 * N * C * H * W + C * K * K) * elementBytes;
}
