/**
 * dense (WebAssembly SIMD): what the official PyTorch code does, in the fastest CPU form. A_c
 * (H_out × H) and B_c (W × W_out) are materialised with their zeros once per problem, then two
 * register-tiled matmuls per channel image, T = A·X then Y = T·B (or U = X·B then Y = A·U), the
 * intermediate in the thread's scratch. Each tile keeps `mr` rows × `nv` f32x4 columns of the
 * result in registers over the whole K loop: one broadcast of L and one vector of R per
 * multiply-add pair, no reload of partial sums. Executed multiply-adds include the zeros (H/k and
 * W/k times the useful ones): the baseline that the block-sparse variants' saving is measured against.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { encodeModule, FunctionBuilder } from './wasm/encoder.js';
import { LaneCounter, mac, type MaddMode, storeLanes, vectorStarts } from './wasm/passes.js';
import { bytesToBase64, MemoryLayout, type WasmKernelSpec, WasmKernel } from './wasm/runtime.js';
import { checkMachineParams, machineDefaults, machineParams, sessionPool } from './wasm/variant.js';
import { cellCost } from '../../core/flops.js';

interface DenseOptions {
  readonly order: 'AB' | 'BA';
  /** Rows of the result per register tile. */
  readonly mr: number;
  /** f32x4 columns of the result per register tile. */
  readonly nv: number;
  readonly madd: MaddMode;
  readonly threads: number;
}

/** One matmul D[M×P] = L[M×K]·R[K×P] of row-major matrices at the addresses in locals l, r, d. */
interface Matmul {
  readonly M: number;
  readonly K: number;
  readonly P: number;
  readonly l: string;
  readonly r: string;
  readonly d: string;
}

function emitMatmul(f: FunctionBuilder, counter: LaneCounter, m: Matmul, o: DenseOptions): void {
  const { M, K, P } = m;
  const lp = f.local('lp', 'i32');
  const rp = f.local('rp', 'i32');
  const li = f.local('li', 'i32'); // L row of the tile
  const di = f.local('di', 'i32'); // D row of the tile
  const rj = f.local('rj', 'i32'); // R column of the tile
  const dj = f.local('dj', 'i32'); // D column of the tile
  const rv = (v: number) => f.local(`rv${v}`, 'v128');
  const sv = f.local('sv', 'v128');
  const acc = (i: number, v: number) => f.local(`acc${i}_${v}`, 'v128');

  /** A tile of `rows` rows and the given vectors (column offsets from rj/dj, lanes to store). */
  const tile = (rows: number, vecs: readonly { start: number; lanes: number }[]) => {
    f.get(li).set(lp);
    f.get(rj).set(rp);
    for (let i = 0; i < rows; i++) vecs.forEach((_, v) => f.v128Zero().set(acc(i, v)));
    counter.times(K, () =>
      f.forLoop('k', 0, K, 1, () => {
        vecs.forEach((vec, v) => f.v128Load(f.ptr(rp, vec.start * 4)).set(rv(v)));
        for (let i = 0; i < rows; i++) {
          f.v128Load32Splat(f.ptr(lp, i * K * 4)).set(sv);
          vecs.forEach((_, v) => mac(f, o.madd, acc(i, v), false, () => f.get(sv), () => f.get(rv(v))));
        }
        counter.count(rows * vecs.length);
        f.increment(lp, 4).increment(rp, P * 4);
      }),
    );
    for (let i = 0; i < rows; i++) vecs.forEach((vec, v) => storeLanes(f, dj, (i * P + vec.start) * 4, acc(i, v), vec.lanes));
  };

  /** All column tiles of `rows` rows starting at li / di. */
  const rowTile = (rows: number) => {
    // Whole 4-column vectors in a loop of nv at a time; the rest (and the overlapping last vector
    // of a width that is not a multiple of 4) in one tile after it.
    const starts = vectorStarts(P);
    const regular = P >= 4 ? Math.floor(P / 4) : 0;
    const loops = Math.floor(regular / o.nv);
    f.get(m.r).set(rj);
    f.get(di).set(dj);
    if (loops > 0)
      counter.times(loops, () =>
        f.forLoop('jt', 0, loops, 1, () => {
          tile(rows, Array.from({ length: o.nv }, (_, v) => ({ start: 4 * v, lanes: 4 })));
          f.increment(rj, o.nv * 16).increment(dj, o.nv * 16);
        }),
      );
    const rest = starts.slice(loops * o.nv).map((s) => ({ start: s.start - loops * o.nv * 4, lanes: s.lanes }));
    for (let t = 0; t < rest.length; t += o.nv) tile(rows, rest.slice(t, t + o.nv));
  };

  f.get(m.l).set(li);
  f.get(m.d).set(di);
  const loops = Math.floor(M / o.mr);
  if (loops > 0)
    counter.times(loops, () =>
      f.forLoop('it', 0, loops, 1, () => {
        rowTile(o.mr);
        f.increment(li, o.mr * K * 4).increment(di, o.mr * P * 4);
      }),
    );
  if (M % o.mr) rowTile(M % o.mr);
}

function buildDenseWasm(p: NeoCellProblem, name: string, o: DenseOptions): WasmKernelSpec {
  const { N, C, H, W } = p;
  const { H_out, W_out } = cellCost(p.cell, N, H, W);
  const layout = new MemoryLayout();
  const X = layout.alloc('x', N * C * H * W);
  const Y = layout.alloc('y', N * C * H_out * W_out);
  const DA = layout.alloc('da', C * H_out * H);
  const DB = layout.alloc('db', C * W * W_out);
  // The intermediate plane, and 16 bytes a last partial vector of a narrow row may read past it.
  const scratchBytes = Math.ceil((Math.max(H_out * W, H * W_out) * 4 + 16) / 64) * 64;
  layout.alloc('scratch', (scratchBytes * o.threads) / 4);
  const counter = new LaneCounter();

  const f = new FunctionBuilder('dense', [
    ['lo', 'i32'],
    ['hi', 'i32'],
    ['sc', 'i32'],
  ]);
  f.offsets = 'add';
  for (const l of ['wa', 'wb', 'xb', 'yb']) f.local(l, 'i32');
  f.forLoop('c', 'lo', 'hi', 1, () => {
    f.get('c').i32(H_out * H * 4).i32Mul().i32(DA).i32Add().set('wa');
    f.get('c').i32(W * W_out * 4).i32Mul().i32(DB).i32Add().set('wb');
    f.get('c').i32(H * W * 4).i32Mul().i32(X).i32Add().set('xb');
    f.get('c').i32(H_out * W_out * 4).i32Mul().i32(Y).i32Add().set('yb');
    f.forLoop('n', 0, N, 1, () => {
      if (o.order === 'AB') {
        emitMatmul(f, counter, { M: H_out, K: H, P: W, l: 'wa', r: 'xb', d: 'sc' }, o);
        emitMatmul(f, counter, { M: H_out, K: W, P: W_out, l: 'sc', r: 'wb', d: 'yb' }, o);
      } else {
        emitMatmul(f, counter, { M: H, K: W, P: W_out, l: 'xb', r: 'wb', d: 'sc' }, o);
        emitMatmul(f, counter, { M: H_out, K: H, P: W_out, l: 'wa', r: 'sc', d: 'yb' }, o);
      }
      f.increment('xb', C * H * W * 4).increment('yb', C * H_out * W_out * 4);
    });
  });
  counter.repeatSince({ mults: 0, adds: 0 }, N * C);

  const { bytes, text } = encodeModule([f], layout.pages, o.threads > 1);
  return {
    kind: 'wasm',
    name,
    module: bytesToBase64(bytes),
    source: text,
    layout: layout.data(),
    segments: [{ fn: 'dense', c0: 0, c1: C, costPerChannel: 1 }],
    scratchBytes,
    threads: o.threads,
    executed: { multiplies: counter.mults, adds: counter.adds, macs: counter.mults },
    uploads: [
      { region: 'da', from: 'dense-a' },
      { region: 'db', from: 'dense-b' },
    ],
  };
}

export const denseWasm: KernelVariant<NeoCellProblem> = {
  backend: 'cpu',
  name: 'dense-wasm',
  op: 'neocell',
  role: 'neocell',
  params: (_problem, device) => [
    { name: 'order', values: ['AB', 'BA'], doc: 'T = A·X first (AB) or U = X·B first (BA)' },
    { name: 'mr', values: [2, 4], doc: 'result rows per register tile (each loaded R vector serves all of them)' },
    { name: 'nv', values: [1, 2], doc: 'f32x4 result columns per register tile (each broadcast L value serves all of them)' },
    ...machineParams(device),
  ],
  defaults: (_problem, device) => ({ order: 'AB', mr: 4, nv: 2, ...machineDefaults(device) }),
  check(problem, params) {
    const p = problem;
    const { H_out, W_out } = cellCost(p.cell, p.N, p.H, p.W);
    const floats = p.N * p.C * (p.H * p.W + H_out * W_out) + p.C * (H_out * p.H + p.W * W_out) + Number(params.threads) * Math.max(H_out * p.W, p.H * W_out);
    return checkMachineParams(params, 4 * floats);
  },
  generate(problem, params) {
    const o: DenseOptions = { order: params.order as 'AB' | 'BA', mr: Number(params.mr), nv: Number(params.nv), madd: params.madd as MaddMode, threads: Number(params.threads) };
    return buildDenseWasm(problem, `dense-wasm-${o.order}-${o.mr}x${o.nv}-${o.madd}-t${o.threads}`, o);
  },
  async create(problem, params, session) {
    return WasmKernel.create(this.generate!(problem, params, session.device) as WasmKernelSpec, sessionPool(session, Number(params.threads)));
  },
};
