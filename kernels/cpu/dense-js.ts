/**
 * dense (JavaScript): what the official PyTorch code does. A_c (H_out × H) and B_c (W × W_out) are
 * materialised with their zeros (once, in prepare: the weights are constant), then two blocked
 * matmuls per channel: T = A·X, Y = T·B (or U = X·B, Y = A·U). Executed MACs include the zeros:
 * this is the baseline the sparse variants' saving is measured against.
 */
import { cellCost } from '../../core/flops.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { jsKernelSpec } from './instance.js';

const ORDERS = ['AB', 'BA'] as const;
const BLOCKS = [8, 32] as const;

/** Row-major matmul dst[M×P] = L[M×K]·R[K×P], blocked over K and P; offsets are expressions. */
function matmul(M: number, K: number, P: number, block: number, L: string, lOff: string, R: string, rOff: string, dst: string, dOff: string): string {
  return `for (let i = 0; i < ${M * P}; i++) ${dst}[${dOff} + i] = 0;
for (let k0 = 0; k0 < ${K}; k0 += ${block}) { const k1 = Math.min(k0 + ${block}, ${K});
  for (let j0 = 0; j0 < ${P}; j0 += ${block}) { const j1 = Math.min(j0 + ${block}, ${P});
    for (let i = 0; i < ${M}; i++) { const di = ${dOff} + i * ${P};
      for (let k = k0; k < k1; k++) { const l = ${L}[${lOff} + i * ${K} + k]; const rk = ${rOff} + k * ${P};
        for (let j = j0; j < j1; j++) ${dst}[di + j] += l * ${R}[rk + j]; } } } }`;
}

export function denseJsSource(p: NeoCellProblem, order: string, block: number, H_out: number, W_out: number): string[] {
  const { N, C, H, W } = p;
  // wa[0]: C matrices A_c (H_out × H); wb[0]: C matrices B_c (W × W_out), from the transform below.
  const ab =
    order === 'AB'
      ? [matmul(H_out, H, W, block, 'A', `c * ${H_out * H}`, 'x', 'xb', 'scratch', '0'), matmul(H_out, W, W_out, block, 'scratch', '0', 'B', `c * ${W * W_out}`, 'y', 'yb')]
      : [matmul(H, W, W_out, block, 'x', 'xb', 'B', `c * ${W * W_out}`, 'scratch', '0'), matmul(H_out, H, W_out, block, 'A', `c * ${H_out * H}`, 'scratch', '0', 'y', 'yb')];
  return [
    `const A = wa[0], B = wb[0];
for (let c = 0; c < ${C}; c++) for (let n = 0; n < ${N}; n++) {
  const xb = (n * ${C} + c) * ${H * W}; const yb = (n * ${C} + c) * ${H_out * W_out};
${ab.join('\n')}
}`,
  ];
}

export const denseJs: KernelVariant<NeoCellProblem> = {
  backend: 'cpu',
  name: 'dense-js',
  op: 'neocell',
  role: 'neocell',
  params: () => [
    { name: 'order', values: ORDERS, doc: 'T = A·X first (AB) or U = X·B first (BA)' },
    { name: 'block', values: BLOCKS, doc: 'cache block of the matmul loops (k and j)' },
  ],
  defaults: () => ({ order: 'AB', block: 32 }),
  generate(problem, params) {
    const p = problem;
    const c = cellCost(p.cell, p.N, p.H, p.W);
    const order = String(params.order);
    const macs = order === 'AB' ? c.dense : p.N * p.C * (p.H * p.W * c.W_out + c.H_out * p.H * c.W_out);
    const src = denseJsSource(p, order, Number(params.block), c.H_out, c.W_out);
    return jsKernelSpec(`dense-js-${order}`, src, Math.max(c.H_out * p.W, p.H * c.W_out), { multiplies: macs, adds: macs, macs }, 'dense');
  },
};
