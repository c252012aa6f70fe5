/**
 * tiled (WebAssembly SIMD): sparse's two whole-plane passes, each block product formed as a
 * register-tiled matmul (kernels/cpu/wasm/matmul.ts): an A block (k × k) times the k rows it
 * covers, the k columns a B block covers times the block. A tile of `mr` rows × `nv` vectors stays
 * in registers over the block's k taps: 6 loads per 8 multiply-adds at 4 × 2, where the row and
 * column passes of fused and sparse load about one value per multiply-add. The blocks' weights are
 * read in place, so no channel's weights are spilled.
 */
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { buildNeoCellWasm } from './wasm/neocell-module.js';
import type { MaddMode } from './wasm/passes.js';
import { checkMachineParams, machineDefaults, machineParams } from './wasm/variant.js';
import { cheaperOrder } from '../../core/structure.js';

export const tiledWasm: KernelVariant<NeoCellProblem> = {
  backend: 'cpu',
  name: 'tiled-wasm',
  op: 'neocell',
  role: 'neocell',
  params: (_problem, device) => [
    { name: 'order', values: ['AB', 'BA'], doc: 'which axis is applied first (AB: A on rows, then B on columns)' },
    { name: 'mr', values: [2, 4], doc: 'rows per register tile (each loaded vector of the right-hand matrix serves all of them)' },
    { name: 'nv', values: [1, 2], doc: 'f32x4 columns per register tile (each broadcast value of the left-hand matrix serves all of them)' },
    ...machineParams(device),
  ],
  defaults: (problem, device) => ({ order: cheaperOrder(problem), mr: 4, nv: 2, ...machineDefaults(device) }),
  check(problem, params) {
    const p = problem;
    // Input + output (a 1→2 cell doubles a side) + one scratch plane per thread, in bytes.
    return checkMachineParams(params, 4 * (2 * p.N * p.C * p.H * p.W * 4 + Number(params.threads) * 4 * p.H * p.W));
  },
  generate(problem, params) {
    const order = params.order as 'AB' | 'BA';
    const tile = { mr: Number(params.mr), nv: Number(params.nv), madd: params.madd as MaddMode };
    return buildNeoCellWasm(problem, `tiled-wasm-${order}-${tile.mr}x${tile.nv}-${tile.madd}-t${Number(params.threads)}`, {
      schedule: 'tiled',
      order,
      tile,
      madd: tile.madd,
      threads: Number(params.threads),
      offsets: 'add',
      // Options of the passes the tiled schedule does not use.
      rowsPerStep: 1,
      horizontalLoop: 'v',
      unroll: 1,
    });
  },
};
