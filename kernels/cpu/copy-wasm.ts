/**
 * Copy of the input tensor in WebAssembly (memory.copy per channel plane), split over threads
 * like the kernels: the bandwidth ceiling at every thread count. A single-threaded copy is no
 * ceiling for a two-threaded kernel (each core copies out of its own caches): measured against it,
 * a 2→1 cell reached 122 % of its "bound".
 */
import type { CopyProblem, KernelVariant } from '../../harness/types.js';
import { channelRangeFunction, wasmKernelSpec } from './wasm/kernel-spec.js';
import { LaneCounter } from './wasm/passes.js';
import { MemoryLayout, type WasmKernelSpec } from './wasm/runtime.js';
import { checkMachineParams, threadValues } from './wasm/variant.js';

function buildCopyWasm(p: CopyProblem, threads: number): WasmKernelSpec {
  const { N, C, H, W } = p;
  const layout = new MemoryLayout();
  const X = layout.alloc('x', N * C * H * W);
  const Y = layout.alloc('y', N * C * H * W);
  layout.alloc('scratch', (64 * threads) / 4);
  const plane = H * W * 4;
  const f = channelRangeFunction('copy');
  f.local('off', 'i32');
  f.forLoop('c', 'lo', 'hi', 1, () => {
    f.get('c').i32(plane).i32Mul().set('off');
    f.forLoop('n', 0, N, 1, () => {
      f.addr('off', Y).addr('off', X).i32(plane).memoryCopy();
      f.increment('off', C * plane);
    });
  });
  return wasmKernelSpec({ name: `copy-wasm-t${threads}`, functions: [f], layout, segments: [{ fn: 'copy', c0: 0, c1: C, costPerChannel: 1 }], scratchBytes: 64, threads, counter: new LaneCounter(), uploads: [] });
}

export const copyWasm: KernelVariant<CopyProblem> = {
  backend: 'cpu',
  name: 'copy-wasm',
  op: 'copy',
  role: 'ceiling',
  params: (_problem, device) => [{ name: 'threads', values: threadValues(device), doc: 'worker threads over channel ranges (the calling thread is one of them)' }],
  defaults: (_problem, device) => ({ threads: Math.max(...threadValues(device)) }),
  check(problem, params) {
    return checkMachineParams(params, 4 * 2 * problem.N * problem.C * problem.H * problem.W);
  },
  generate(problem, params) {
    return buildCopyWasm(problem, Number(params.threads));
  },
};
