/**
 * `neotune/runtime`: run tuned NeoCell kernels in an application (see runtime/neocell.ts).
 *
 * @example
 * import { createNeoCell } from 'neotune/runtime';
 * const cell = await createNeoCell({ backend: 'wasm' }, { N: 1, C: 96, H: 56, W: 56, spec: '4+7', shift: 1 }, { table });
 * cell.setWeights(weightA, weightB);
 * const y = await cell.run(x);
 */
export { createNeoCell, TARGETS, type NeoCell, type NeoCellLayer, type NeoCellTarget } from './neocell.js';
export { checkDispatchTable, chooseKernel, type DispatchTable, type KernelChoice, type TableRow } from './choice.js';
