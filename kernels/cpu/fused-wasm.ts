/**
 * fused / tiled (WebAssembly SIMD): the fused schedule of fused-js, generated as f32x4 code. Per
 * band of A the intermediate (k rows) stays in a per-thread scratch in L1; both passes are
 * vectorised (kernels/cpu/wasm/passes.ts), channels are split over threads.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { neoCellWasmVariant } from './wasm/neocell-variant.js';

export const fusedWasm: KernelVariant<NeoCellProblem> = neoCellWasmVariant('fused-wasm', 'fused');
