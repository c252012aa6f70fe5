/** The parameter space and constraints of the WebAssembly NeoCell variants (fused and sparse). */
import type { KernelVariant, NeoCellProblem } from '../../../harness/types.js';
import { buildNeoCellWasm, type NeoCellWasmOptions } from './neocell-module.js';
import type { MaddMode } from './passes.js';
import { WasmKernel, type WasmKernelSpec } from './runtime.js';
import { checkMachineParams, machineDefaults, machineParams, sessionPool } from './variant.js';
import { cheaperOrder } from '../../../core/structure.js';

const ROWS_PER_STEP = [1, 2, 4];

function options(schedule: NeoCellWasmOptions['schedule'], params: Record<string, unknown>): NeoCellWasmOptions {
  return {
    schedule,
    order: params.order as 'AB' | 'BA',
    rowsPerStep: Number(params.rows),
    madd: params.madd as MaddMode,
    threads: Number(params.threads),
    // Memarg offsets made V8 hoist one address register per distinct offset and spill them
    // (measured 20-30 % slower on every NeoNeXt-T stage), so constants are always added.
    offsets: 'add',
    horizontalLoop: params.hloop as 'q' | 'v' | 's',
    unroll: Number(params.unroll),
  };
}

export function neoCellWasmVariant(name: string, schedule: NeoCellWasmOptions['schedule']): KernelVariant<NeoCellProblem> {
  return {
    backend: 'cpu',
    name,
    op: 'neocell',
    role: 'neocell',
    params: (_problem, device) => [
      { name: 'order', values: ['AB', 'BA'], doc: 'which axis is applied first (AB: A on rows, then B on columns)' },
      { name: 'rows', values: ROWS_PER_STEP, doc: 'rows per step of the column (B) pass: each B vector is loaded once for this many rows' },
      { name: 'unroll', values: [1, 2], doc: 'blocks per iteration of the column (B) pass loop' },
      { name: 'hloop', values: ['v', 'q', 's'], doc: 'column (B) pass loop inside a block: one output vector at a time (v), inputs outer (q), or inputs outer broadcast by lane shuffles from vector loads (s)' },
      ...machineParams(device),
    ],
    defaults: (problem, device) => ({ order: cheaperOrder(problem), rows: 2, hloop: 'v', unroll: 1, ...machineDefaults(device) }),
    check(problem, params) {
      const p = problem;
      // Input + output + one scratch per thread, in bytes; a rough bound is enough to refuse early.
      const bytes = 4 * (2 * p.N * p.C * p.H * p.W * 4 + Number(params.threads) * 4 * p.H * p.W);
      return checkMachineParams(params, bytes);
    },
    generate(problem, params) {
      const o = options(schedule, params);
      return buildNeoCellWasm(problem, `${name}-${o.order}-r${o.rowsPerStep}-${o.madd}-t${o.threads}`, o);
    },
    async create(problem, params, session) {
      return WasmKernel.create(this.generate!(problem, params, session.device) as WasmKernelSpec, sessionPool(session, Number(params.threads)));
    },
  };
}
