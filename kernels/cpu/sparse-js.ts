/**
 * sparse (JavaScript): two passes of k-term sums, A then B or B then A (`order`), the intermediate
 * of one channel plane in a scratch buffer. Unrolled block products, weights in locals.
 * For rectangular blocks the cheaper order differs (core/flops.ts usefulAFirst vs usefulBFirst).
 */
import { cellCost } from '../../core/flops.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { emitColumnPass, emitRowPass, emitSegmentLoops } from './codegen.js';
import { jsKernelSpec } from './instance.js';
import { cellSegments, cheaperOrder, segmentOutput } from '../../core/structure.js';

const ORDERS = ['AB', 'BA'] as const;

/** One source part per channel segment (see JsKernel). */
export function sparseJsSource(p: NeoCellProblem, order: string): string[] {
  const { H, W } = p;
  return cellSegments(p.cell)
    .map((seg) => {
      const { H_out, W_out } = segmentOutput(seg, H, W);
      const passes =
        order === 'AB'
          ? [emitRowPass(seg.a, seg.offA, H, H_out, W, 'x', 'xb', 'scratch', '0'), emitColumnPass(seg.b, seg.offB, W, W_out, H_out, 'scratch', '0', 'y', 'yb')]
          : [emitColumnPass(seg.b, seg.offB, W, W_out, H, 'x', 'xb', 'scratch', '0'), emitRowPass(seg.a, seg.offA, H, H_out, W_out, 'scratch', '0', 'y', 'yb')];
      return emitSegmentLoops(seg, p, 'cn', passes.join('\n'));
    });
}

export const sparseJs: KernelVariant<NeoCellProblem> = {
  backend: 'cpu',
  name: 'sparse-js',
  op: 'neocell',
  role: 'neocell',
  params: () => [{ name: 'order', values: ORDERS, doc: 'which axis is applied first (AB: rows then columns)' }],
  defaults: (problem) => ({ order: cheaperOrder(problem) }),
  generate(problem, params) {
    const p = problem;
    const order = String(params.order);
    const c = cellCost(p.cell, p.N, p.H, p.W);
    const macs = order === 'AB' ? c.usefulAFirst : c.usefulBFirst;
    return jsKernelSpec(`sparse-js-${order}`, sparseJsSource(p, order), Math.max(c.H_out * p.W, p.H * c.W_out), { multiplies: macs, adds: macs, macs });
  },
};
