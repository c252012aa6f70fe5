/**
 * sparse (WebAssembly SIMD): two whole-plane passes of k-term sums (sparse-js's schedule) as f32x4
 * code; the intermediate plane of one channel lives in a per-thread scratch.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { neoCellWasmVariant } from './wasm/neocell-variant.js';

export const sparseWasm: KernelVariant<NeoCellProblem> = neoCellWasmVariant('sparse-wasm', 'sparse');
