/**
 * Depthwise K×K convolution baseline (WebAssembly SIMD): the operator NeoCell replaces, written as
 * carefully as the NeoCell kernels so the comparison is fair. Per channel image: the input is
 * copied into a zero-bordered plane in the thread's scratch (so every output uses the same
 * unrolled K×K window, no border branches), then `rows` output rows are computed together, 4
 * columns per f32x4: each loaded input vector serves every output row whose window contains it.
 * Weights are broadcast into locals once per channel.
 */
import type { DwConvProblem, KernelVariant } from '../../harness/types.js';
import { FunctionBuilder } from './wasm/encoder.js';
import { channelRangeFunction, wasmKernelSpec } from './wasm/kernel-spec.js';
import { LaneCounter, mac, type MaddMode, storeLanes, vectorStarts, WeightLocals } from './wasm/passes.js';
import { MemoryLayout, type WasmKernelSpec } from './wasm/runtime.js';
import { checkMachineParams, machineDefaults, machineParams } from './wasm/variant.js';

const ROWS_PER_STEP = [1, 2, 4];

interface DwOptions {
  readonly rows: number;
  readonly madd: MaddMode;
  readonly threads: number;
  readonly offsets: 'memarg' | 'add';
}

function buildDwConvWasm(p: DwConvProblem, name: string, o: DwOptions): WasmKernelSpec {
  const { N, C, H, W, K } = p;
  const pad = Math.floor((K - 1) / 2);
  const Wp = W + K - 1; // padded row: pad zeros, W values, K−1−pad zeros
  const Hp = H + K - 1;
  const layout = new MemoryLayout();
  const X = layout.alloc('x', N * C * H * W);
  const Y = layout.alloc('y', N * C * H * W);
  const DW = layout.alloc('dw', C * K * K);
  const scratchBytes = Math.ceil((Hp * Wp * 4 + 16) / 64) * 64;
  layout.alloc('scratch', (scratchBytes * o.threads) / 4);
  const counter = new LaneCounter();

  const f = channelRangeFunction('dwconv');
  f.offsets = o.offsets;
  const weights = new WeightLocals(f);
  for (const l of ['w', 'xb', 'yb', 'src', 'dst', 'xr', 'yr', 'pr']) f.local(l, 'i32');
  const acc = (r: number) => f.local(`acc${r}`, 'v128');
  const xv = f.local('xv', 'v128');
  const KK = K * K;

  /** Emits one step of `R` output rows at column byte offset held by local `col` (or constant). */
  const step = (R: number, lanes: number) => {
    for (let t = 0; t < R + K - 1; t++) {
      for (let v = 0; v < K; v++) {
        const users = Array.from({ length: R }, (_, r) => r).filter((r) => t - r >= 0 && t - r < K);
        f.v128Load(f.ptr('pr', (t * Wp + v) * 4)).set(xv);
        for (const r of users) {
          const wl = weights.splat('w', ((t - r) * K + v) * 4);
          const first = t - r === 0 && v === 0;
          mac(f, o.madd, acc(r), first, () => f.get(wl), () => f.get(xv));
        }
      }
    }
    for (let r = 0; r < R; r++) storeLanes(f, 'yr', r * W * 4, acc(r), lanes);
    counter.count(R * KK);
  };
  /** R output rows starting at the rows pointed to by pr (padded input) and yr (output). */
  const rowBlock = (R: number) => {
    const starts = vectorStarts(W);
    const full = starts.filter((s) => s.lanes === 4 && s.start % 4 === 0).length;
    const saveP = f.local('prow', 'i32');
    const saveY = f.local('yrow', 'i32');
    f.get('pr').set(saveP);
    f.get('yr').set(saveY);
    if (full > 0) {
      counter.times(full, () =>
        f.forLoop('col', 0, full, 1, () => {
          step(R, 4);
          f.increment('pr', 16).increment('yr', 16);
        }),
      );
    }
    for (const s of starts.slice(full)) {
      f.get(saveP).i32(s.start * 4).i32Add().set('pr');
      f.get(saveY).i32(s.start * 4).i32Add().set('yr');
      step(R, s.lanes);
    }
    f.get(saveP).i32(R * Wp * 4).i32Add().set('pr');
    f.get(saveY).i32(R * W * 4).i32Add().set('yr');
  };

  f.forLoop('c', 'lo', 'hi', 1, () => {
    f.get('c').i32(KK * 4).i32Mul().i32(DW).i32Add().set('w');
    const weightLoads = f.mark();
    f.get('c').i32(H * W * 4).i32Mul().i32(X).i32Add().set('xb');
    f.get('c').i32(H * W * 4).i32Mul().i32(Y).i32Add().set('yb');
    f.forLoop('n', 0, N, 1, () => {
      // Copy the image into the zero-bordered plane (interior only; the border stays zero).
      f.get('xb').set('xr');
      f.get('sc').i32((pad * Wp + pad) * 4).i32Add().set('dst');
      f.forLoop('i', 0, H, 1, () => {
        for (const s of vectorStarts(W)) {
          f.v128Load(f.ptr('xr', s.start * 4)).set(xv);
          storeLanes(f, 'dst', s.start * 4, xv, s.lanes);
        }
        f.increment('xr', W * 4).increment('dst', Wp * 4);
      });
      f.get('sc').set('pr');
      f.get('yb').set('yr');
      const blocks = Math.floor(H / o.rows);
      if (blocks > 0) counter.times(blocks, () => f.forLoop('rb', 0, blocks, 1, () => rowBlock(o.rows)));
      if (H % o.rows) rowBlock(H % o.rows);
      f.increment('xb', C * H * W * 4).increment('yb', C * H * W * 4);
    });
    f.insertAt(weightLoads, () => weights.emitLoads());
  });
  counter.repeatSince({ mults: 0, adds: 0 }, N * C);

  // init(sc): zero one thread's padded plane (its border is never written afterwards).
  const init = new FunctionBuilder('init', [['sc', 'i32']]);
  init.forLoop('b', 0, scratchBytes, 16, () => {
    init.get('sc').get('b').i32Add().v128Zero().v128Store(0);
  });

  return wasmKernelSpec({
    name,
    functions: [f, init],
    layout,
    segments: [{ fn: 'dwconv', c0: 0, c1: C, costPerChannel: 1 }],
    scratchBytes,
    threads: o.threads,
    counter,
    uploads: [{ region: 'dw', from: 'dw' }],
    init: 'init',
  });
}

export const dwconvWasm: KernelVariant<DwConvProblem> = {
  backend: 'cpu',
  name: 'dwconv-wasm',
  op: 'dwconv',
  role: 'baseline',
  params: (_problem, device) => [
    { name: 'rows', values: ROWS_PER_STEP, doc: 'output rows per step: each loaded input vector serves all of them' },
    ...machineParams(device),
  ],
  defaults: (_problem, device) => ({ rows: 2, ...machineDefaults(device) }),
  check(problem, params) {
    const p = problem;
    return checkMachineParams(params, 4 * (2 * p.N * p.C * p.H * p.W + Number(params.threads) * (p.H + p.K) * (p.W + p.K)));
  },
  generate(problem, params) {
    const o: DwOptions = { rows: Number(params.rows), madd: params.madd as MaddMode, threads: Number(params.threads), offsets: 'add' };
    return buildDwConvWasm(problem, `dwconv-wasm-r${o.rows}-${o.madd}-t${o.threads}`, o);
  },
};
