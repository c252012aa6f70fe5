/**
 * The CPU variants, listed once. The backend runs all of them (plus the peers, which need Node);
 * the runtime's CPU targets and the tuning page take theirs from these lists, so a variant added
 * here reaches every place that runs CPU kernels. No Node built-in: the runtime and the page bundle this file.
 */
import type { KernelVariant } from '../../harness/types.js';
import { copyCpu } from './copy.js';
import { copyWasm } from './copy-wasm.js';
import { denseJs } from './dense-js.js';
import { denseWasm } from './dense-wasm.js';
import { dwconvJs } from './dwconv-js.js';
import { dwconvWasm } from './dwconv-wasm.js';
import { fusedJs } from './fused-js.js';
import { fusedWasm } from './fused-wasm.js';
import { sparseJs } from './sparse-js.js';
import { sparseWasm } from './sparse-wasm.js';
import { tiledWasm } from './tiled-wasm.js';
import { winogradJs } from './winograd-js.js';
import { winogradWasm } from './winograd-wasm.js';

/** The two CPU code kinds: WebAssembly SIMD (with threads) and plain JavaScript. */
export type CpuKind = 'wasm' | 'js';

/** NeoCell variants by code kind (the order is the order of records and tables). */
export const CPU_NEOCELL: Readonly<Record<CpuKind, readonly KernelVariant[]>> = {
  wasm: [fusedWasm, sparseWasm, tiledWasm, winogradWasm, denseWasm],
  js: [sparseJs, fusedJs, winogradJs, denseJs],
};

/** neotune's own depthwise 7×7 convolution, the baseline NeoCell replaces, by code kind. */
export const CPU_DWCONV: Readonly<Record<CpuKind, KernelVariant>> = { wasm: dwconvWasm, js: dwconvJs };

/** The copy ceilings (the same tensor read and written once). */
export const CPU_COPY: readonly KernelVariant[] = [copyCpu, copyWasm];
