/** The WGSL variants, identical for both hosts (Node/Dawn and Chromium); only `backend` differs. */
import type { KernelVariant } from '../../harness/types.js';
import { copyWgslFor } from './copy-wgsl.js';
import { denseWgslFor } from './dense-wgsl.js';
import { dwconvWgslFor } from './dwconv-wgsl.js';
import { fusedWgslFor, winogradWgslFor } from './fused-wgsl.js';
import { sparseWgslFor } from './sparse-wgsl.js';

export function wgslVariants(backend: 'webgpu' | 'webgpu-browser'): KernelVariant[] {
  return [fusedWgslFor(backend), sparseWgslFor(backend), denseWgslFor(backend), winogradWgslFor(backend), dwconvWgslFor(backend), copyWgslFor(backend)];
}
