/**
 * The parameter space and constraints of the WebAssembly NeoCell variants built from the two passes
 * (fused, sparse, and the fused schedule with Winograd's dot products).
 */
import type { KernelVariant, NeoCellProblem, ParamDecl, Params } from '../../../harness/types.js';
import { buildNeoCellWasm, type NeoCellWasmOptions } from './neocell-module.js';
import { type DotScheme, type MaddMode, packableNarrow } from './passes.js';
import { checkMachineParams, machineDefaults, machineParams } from './variant.js';
import { cellSegments, cheaperOrder } from '../../../core/structure.js';

const ROWS_PER_STEP = [1, 2, 4];

function options(schedule: NeoCellWasmOptions['schedule'], params: Record<string, unknown>, dot: DotScheme | undefined): NeoCellWasmOptions {
  return {
    schedule,
    order: params.order as 'AB' | 'BA',
    rowsPerStep: dot ? 1 : Number(params.rows),
    madd: params.madd as MaddMode,
    threads: Number(params.threads),
    // Memarg offsets made V8 hoist one address register per distinct offset and spill them
    // (measured 20-30 % slower on every NeoNeXt-T stage), so constants are always added.
    offsets: 'add',
    horizontalLoop: dot ? 'v' : (params.hloop as 'q' | 'v' | 's'),
    unroll: Number(params.unroll),
    packNarrow: !dot && params.narrow === 'packed',
    ...(dot ? { dot } : {}),
  };
}

/** Whether the problem's cell has B blocks with a packed column pass (2→1, 1→2): only then is `narrow` a parameter. */
const hasNarrowBlocks = (p: NeoCellProblem) => cellSegments(p.cell).some((s) => packableNarrow(s.b));

export function neoCellWasmVariant(name: string, schedule: NeoCellWasmOptions['schedule'], dot?: DotScheme): KernelVariant<NeoCellProblem> {
  // A dot scheme broadcasts a row's inputs itself: rows, hloop and narrow do not apply to it.
  const rowsParam: ParamDecl[] = dot ? [] : [{ name: 'rows', values: ROWS_PER_STEP, doc: 'rows per step of the column (B) pass: each B vector is loaded once for this many rows' }];
  const loopParams = (problem: NeoCellProblem): ParamDecl[] =>
    dot
      ? []
      : [
          { name: 'hloop', values: ['v', 'q', 's'], doc: 'column (B) pass loop inside a block: one output vector at a time (v), inputs outer (q), or inputs outer broadcast by lane shuffles from vector loads (s)' },
          ...(hasNarrowBlocks(problem) ? [{ name: 'narrow', values: ['packed', 'lane'], doc: 'column (B) pass of 2→1 / 1→2 blocks: four blocks per vector, inputs or outputs rearranged by shuffles (packed), or one block per vector, 1 or 2 of 4 lanes useful (lane)' }] : []),
        ];
  const loopDefaults = (problem: NeoCellProblem): Params => (dot ? {} : { hloop: 'v', ...(hasNarrowBlocks(problem) ? { narrow: 'packed' } : {}) });
  return {
    backend: 'cpu',
    name,
    op: 'neocell',
    role: 'neocell',
    params: (problem, device) => [
      { name: 'order', values: ['AB', 'BA'], doc: 'which axis is applied first (AB: A on rows, then B on columns)' },
      ...rowsParam,
      { name: 'unroll', values: [1, 2], doc: 'blocks per iteration of the column (B) pass loop' },
      ...loopParams(problem),
      ...machineParams(device),
    ],
    defaults: (problem, device) => ({ order: cheaperOrder(problem), ...(dot ? {} : { rows: 2 }), unroll: 1, ...loopDefaults(problem), ...machineDefaults(device) }),
    check(problem, params) {
      const p = problem;
      // Input + output + one scratch per thread, in bytes; a rough bound is enough to refuse early.
      const bytes = 4 * (2 * p.N * p.C * p.H * p.W * 4 + Number(params.threads) * 4 * p.H * p.W);
      // Unpacked narrow blocks lose to packed ones by 18-65 % on NeoNeXt-T's 2→1 cells: kept as a
      // reference point of the space, not searched along the loop parameters of the packed form.
      if (params.narrow === 'lane' && (params.hloop !== 'v' || Number(params.unroll) !== 1)) return 'narrow=lane (the unpacked reference) is searched at hloop=v, unroll=1 only';
      return checkMachineParams(params, bytes);
    },
    generate(problem, params) {
      const o = options(schedule, params, dot);
      return buildNeoCellWasm(problem, `${name}-${o.order}-r${o.rowsPerStep}-${o.madd}-t${o.threads}`, o);
    },
  };
}
