/**
 * What every WebAssembly kernel generator ends with: functions over a channel range, encoded into
 * one module, and the description (layout, call plan, executed work, weight uploads) the runtime
 * instantiates.
 */
import { encodeModule, FunctionBuilder } from './encoder.js';
import type { LaneCounter } from './passes.js';
import { bytesToBase64, type MemoryLayout, type WasmKernelSpec, type WasmSegment } from './runtime.js';

/** A function `(lo, hi, sc)` over channels [lo, hi) with one thread's scratch at byte sc: what the call plan invokes. */
export function channelRangeFunction(name: string): FunctionBuilder {
  return new FunctionBuilder(name, [
    ['lo', 'i32'],
    ['hi', 'i32'],
    ['sc', 'i32'],
  ]);
}

export interface WasmKernelParts {
  readonly name: string;
  readonly functions: readonly FunctionBuilder[];
  readonly layout: MemoryLayout;
  readonly segments: readonly WasmSegment[];
  readonly scratchBytes: number;
  readonly threads: number;
  /** The vector work counted while emitting, already multiplied out to the whole problem. */
  readonly counter: LaneCounter;
  readonly uploads: WasmKernelSpec['uploads'];
  readonly init?: string;
}

export function wasmKernelSpec(k: WasmKernelParts): WasmKernelSpec {
  const { bytes, text } = encodeModule(k.functions, k.layout.pages, k.threads > 1);
  return {
    kind: 'wasm',
    name: k.name,
    module: bytesToBase64(bytes),
    source: text,
    layout: k.layout.data(),
    segments: k.segments,
    scratchBytes: k.scratchBytes,
    threads: k.threads,
    ...(k.init ? { init: k.init } : {}),
    // A multiply-add chain executes as many multiplies as adds; a Winograd kernel fewer multiplies
    // (its "macs", as the JavaScript variant counts them) and more adds.
    executed: { multiplies: k.counter.mults, adds: k.counter.adds, macs: k.counter.mults },
    uploads: k.uploads,
  };
}
