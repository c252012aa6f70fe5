/**
 * Strassen-like (WebAssembly SIMD): the fused schedule of fused-wasm with every block dot product
 * of both passes formed by Winograd's inner-product scheme (kernels/cpu/wasm/winograd-dot.ts):
 * fewer multiplies, more additions. Executed multiplies and adds are counted exactly.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { neoCellWasmVariant } from './wasm/neocell-variant.js';
import { winogradDot } from './wasm/winograd-dot.js';

export const winogradWasm: KernelVariant<NeoCellProblem> = neoCellWasmVariant('winograd-wasm', 'fused', winogradDot);
