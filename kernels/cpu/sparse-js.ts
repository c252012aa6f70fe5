/**
 * sparse (JavaScript): two passes of k-term sums, A then B or B then A (`order`), the intermediate
 * of one channel plane in a scratch buffer. Unrolled block products, weights in locals.
 * For rectangular blocks the cheaper order differs (core/flops.ts usefulAFirst vs usefulBFirst).
 */
import { cellCost } from '../../core/flops.js';
import type { KernelVariant, NeoCellProblem, Params } from '../../harness/types.js';
import { cellSegments, emitColumnPass, emitRowPass, loadA, loadB, segmentOutput } from './codegen.js';
import { JsKernel } from './instance.js';

const ORDERS = ['AB', 'BA'] as const;

/** One source part per channel segment (see JsKernel). */
export function sparseJsSource(p: NeoCellProblem, order: string): string[] {
  const { N, C, H, W } = p;
  return cellSegments(p.cell)
    .map((seg) => {
      const { H_out, W_out } = segmentOutput(seg, H, W);
      const passes =
        order === 'AB'
          ? [emitRowPass(seg.a, seg.offA, H, H_out, W, 'x', 'xb', 'scratch', '0'), emitColumnPass(seg.b, seg.offB, W, W_out, H_out, 'scratch', '0', 'y', 'yb')]
          : [emitColumnPass(seg.b, seg.offB, W, W_out, H, 'x', 'xb', 'scratch', '0'), emitRowPass(seg.a, seg.offA, H, H_out, W_out, 'scratch', '0', 'y', 'yb')];
      return `// group ${seg.group}, channels ${seg.c0}..${seg.c1 - 1}, offsets A ${seg.offA} B ${seg.offB}
{ const wA = wa[${seg.group}], wB = wb[${seg.group}];
for (let c = ${seg.c0}; c < ${seg.c1}; c++) {
  const cl = c - ${seg.c0 - seg.local0};
  ${loadA(seg.a, 'wA', `cl * ${seg.a.in * seg.a.out}`)}
  ${loadB(seg.b, 'wB', `cl * ${seg.b.in * seg.b.out}`)}
  for (let n = 0; n < ${N}; n++) {
    const xb = (n * ${C} + c) * ${H * W}; const yb = (n * ${C} + c) * ${H_out * W_out};
${passes.join('\n')}
  }
} }`;
    });
}

export const sparseJs: KernelVariant = {
  backend: 'cpu',
  name: 'sparse-js',
  op: 'neocell',
  role: 'neocell',
  params: () => [{ name: 'order', values: ORDERS, doc: 'which axis is applied first (AB: rows then columns)' }],
  defaults: (problem) => {
    const c = cellCost((problem as NeoCellProblem).cell, problem.N, problem.H, problem.W);
    return { order: c.usefulBFirst < c.usefulAFirst ? 'BA' : 'AB' };
  },
  check: (_problem, params: Params) => (ORDERS.includes(params.order as (typeof ORDERS)[number]) ? undefined : `order must be one of ${ORDERS.join(', ')}, got ${String(params.order)}`),
  async create(problem, params) {
    const p = problem as NeoCellProblem;
    const order = String(params.order);
    const c = cellCost(p.cell, p.N, p.H, p.W);
    const macs = order === 'AB' ? c.usefulAFirst : c.usefulBFirst;
    const { H_out, W_out } = { H_out: c.H_out, W_out: c.W_out };
    return new JsKernel(`sparse-js-${order}`, sparseJsSource(p, order), Math.max(H_out * p.W, p.H * W_out), { multiplies: macs, adds: macs, macs });
  },
};
