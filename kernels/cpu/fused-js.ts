/**
 * fused / tiled (JavaScript): one pass over the row bands of A. For each band (one diagonal block
 * of A: `out` output rows from `in` input rows) the intermediate is only that band, kept in a
 * scratch of ≤ k rows that stays in L1, and is consumed by the other axis right away.
 *   order AB: T_band = a · X_rows (k × W), then Y_rows = T_band · B
 *   order BA: U_rows = X_rows · B (k × W_out), then Y_rows = a · U_rows
 *   loop cn: channels outer (weights loaded once per channel), nc: batch outer.
 */
import { cellCost } from '../../core/flops.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { aName, type ChannelLoop, emitColumnPass, emitSegmentLoops } from './codegen.js';
import { jsKernelSpec } from './instance.js';
import { axisPieces, cellSegments, cheaperOrder, type Segment, segmentOutput } from '../../core/structure.js';

const ORDERS = ['AB', 'BA'] as const;
const LOOPS = ['cn', 'nc'] as const;

function sum(terms: string[]): string {
  return terms.length ? terms.join(' + ') : '0';
}

/** The band loop of one channel image (xb, yb set by the caller). */
function bandCode(seg: Segment, H: number, W: number, order: string): string {
  const { H_out, W_out } = segmentOutput(seg, H, W);
  const a = seg.a;
  const o = seg.offA;
  const band = (tb: string, ps: readonly number[], qs: readonly number[]) => {
    const p0 = ps[0]!;
    const q0 = qs[0]!;
    const outRow = (p: number) => `(${tb} * ${a.out} + ${o + p})`;
    const inRow = (q: number) => `(${tb} * ${a.in} + ${o + q})`;
    if (order === 'AB') {
      const loads = qs.map((q) => `const x${q} = x[xb + ${inRow(q)} * ${W} + s];`).join(' ');
      const stores = ps.map((p) => `scratch[${(p - p0) * W} + s] = ${sum(qs.map((q) => `${aName(p, q)} * x${q}`))};`).join(' ');
      return `for (let s = 0; s < ${W}; s++) { ${loads} ${stores} }
${emitColumnPass(seg.b, seg.offB, W, W_out, ps.length, 'scratch', '0', 'y', `yb + ${outRow(p0)} * ${W_out}`)}`;
    }
    const loads = qs.map((q) => `const u${q} = scratch[${(q - q0) * W_out} + j];`).join(' ');
    const stores = ps.map((p) => `y[yb + ${outRow(p)} * ${W_out} + j] = ${sum(qs.map((q) => `${aName(p, q)} * u${q}`))};`).join(' ');
    return `${emitColumnPass(seg.b, seg.offB, W, W_out, qs.length, 'x', `xb + ${inRow(q0)} * ${W}`, 'scratch', '0')}
for (let j = 0; j < ${W_out}; j++) { ${loads} ${stores} }`;
  };
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return axisPieces(a, o, H, H_out)
    .map((pc) => (pc.kind === 'full' ? `for (let tb = ${pc.t0}; tb <= ${pc.t1}; tb++) {\n${band('tb', range(a.out), range(a.in))}\n}` : `{ const tb = ${pc.t};\n${band('tb', pc.p, pc.q)}\n}`))
    .join('\n');
}

export function fusedJsSource(p: NeoCellProblem, order: string, loop: ChannelLoop): string[] {
  return cellSegments(p.cell).map((seg) => emitSegmentLoops(seg, p, loop, bandCode(seg, p.H, p.W, order)));
}

export const fusedJs: KernelVariant<NeoCellProblem> = {
  backend: 'cpu',
  name: 'fused-js',
  op: 'neocell',
  role: 'neocell',
  params: () => [
    { name: 'order', values: ORDERS, doc: 'within a band: A then B (AB) or B then A (BA)' },
    { name: 'loop', values: LOOPS, doc: 'channels outer (cn) or batch outer (nc)' },
  ],
  defaults: (problem) => ({ order: cheaperOrder(problem), loop: 'cn' }),
  generate(problem, params) {
    const p = problem;
    const c = cellCost(p.cell, p.N, p.H, p.W);
    const order = String(params.order);
    const macs = order === 'AB' ? c.usefulAFirst : c.usefulBFirst;
    const maxIn = Math.max(...p.cell.groups.map((g) => Math.max(g.a.in, g.a.out)));
    return jsKernelSpec(`fused-js-${order}-${params.loop}`, fusedJsSource(p, order, params.loop as ChannelLoop), maxIn * Math.max(p.W, c.W_out), { multiplies: macs, adds: macs, macs });
  },
};
