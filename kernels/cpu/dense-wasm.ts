/**
 * dense (WebAssembly SIMD): what the official PyTorch code does, in the fastest CPU form. A_c
 * (H_out × H) and B_c (W × W_out) are materialised with their zeros once per problem, then two
 * register-tiled matmuls (kernels/cpu/wasm/matmul.ts) per channel image, T = A·X then Y = T·B (or
 * U = X·B then Y = A·U), the intermediate in the thread's scratch. Executed multiply-adds include
 * the zeros (H/k and W/k times the useful ones): the baseline that the block-sparse variants' saving is measured against.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { channelRangeFunction, wasmKernelSpec } from './wasm/kernel-spec.js';
import { emitMatmul, type MatmulTiling } from './wasm/matmul.js';
import { LaneCounter, type MaddMode } from './wasm/passes.js';
import { MemoryLayout, type WasmKernelSpec } from './wasm/runtime.js';
import { checkMachineParams, machineDefaults, machineParams } from './wasm/variant.js';
import { cellCost } from '../../core/flops.js';

interface DenseOptions extends MatmulTiling {
  readonly order: 'AB' | 'BA';
  readonly threads: number;
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

  const f = channelRangeFunction('dense');
  f.offsets = 'add';
  for (const l of ['wa', 'wb', 'xb', 'yb']) f.local(l, 'i32');
  f.forLoop('c', 'lo', 'hi', 1, () => {
    f.get('c').i32(H_out * H * 4).i32Mul().i32(DA).i32Add().set('wa');
    f.get('c').i32(W * W_out * 4).i32Mul().i32(DB).i32Add().set('wb');
    f.get('c').i32(H * W * 4).i32Mul().i32(X).i32Add().set('xb');
    f.get('c').i32(H_out * W_out * 4).i32Mul().i32(Y).i32Add().set('yb');
    f.forLoop('n', 0, N, 1, () => {
      const m = (local: string, stride: number) => ({ local, offset: 0, stride });
      if (o.order === 'AB') {
        emitMatmul(f, counter, H_out, H, W, m('wa', H), m('xb', W), m('sc', W), o);
        emitMatmul(f, counter, H_out, W, W_out, m('sc', W), m('wb', W_out), m('yb', W_out), o);
      } else {
        emitMatmul(f, counter, H, W, W_out, m('xb', W), m('wb', W_out), m('sc', W_out), o);
        emitMatmul(f, counter, H_out, H, W_out, m('wa', H), m('sc', W_out), m('yb', W_out), o);
      }
      f.increment('xb', C * H * W * 4).increment('yb', C * H_out * W_out * 4);
    });
  });
  counter.repeatSince({ mults: 0, adds: 0 }, N * C);

  return wasmKernelSpec({
    name,
    functions: [f],
    layout,
    segments: [{ fn: 'dense', c0: 0, c1: C, costPerChannel: 1 }],
    scratchBytes,
    threads: o.threads,
    counter,
    uploads: [
      { region: 'da', from: 'dense-a' },
      { region: 'db', from: 'dense-b' },
    ],
  });
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
};
