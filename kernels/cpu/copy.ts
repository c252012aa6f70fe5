/**
 * Copy of the input tensor (TypedArray.set, i.e. memcpy): the bandwidth ceiling every CPU kernel's
 * time is divided by in reports ("× copy").
 */
import type { KernelVariant, CopyProblem } from '../../harness/types.js';
import { jsKernelSpec } from './instance.js';

export const copyCpu: KernelVariant<CopyProblem> = {
  backend: 'cpu',
  name: 'copy',
  op: 'copy',
  role: 'ceiling',
  params: () => [],
  defaults: () => ({}),
  generate() {
    return jsKernelSpec('copy', ['y.set(x);'], 0, { multiplies: 0, adds: 0, macs: 0 });
  },
};
