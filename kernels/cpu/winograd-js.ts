/**
 * Strassen-like (JavaScript): the fused band structure with every block product computed by
 * Winograd's inner-product scheme (1968), which trades multiplications for additions:
 *
 *   Σ_q w_q·x_q = Σ_pairs (w_a + x_b)(w_b + x_a) − ξ − η,  ξ = Σ_pairs w_a·w_b,  η = Σ_pairs x_a·x_b
 *
 * ξ depends only on the weights (computed once per channel), η only on the input column/row and is
 * shared by every output of the block. For k = 7 a block row costs 4 multiplications instead of 7
 * plus 3 shared ones: 31 instead of 49 per block and column. Executed multiplies and adds are
 * counted exactly so the trade-off shows next to the useful FLOPs.
 */
import type { AxisSpec } from '../../core/spec.js';
import type { KernelVariant, NeoCellProblem } from '../../harness/types.js';
import { aName, bName, type ChannelLoop, emitSegmentLoops } from './codegen.js';
import { jsKernelSpec } from './instance.js';
import { axisPieces, cellSegments, type Segment, segmentOutput } from '../../core/structure.js';

const LOOPS = ['cn', 'nc'] as const;

interface Counter {
  mults: number;
  adds: number;
}

/** Pairs (qa, qb) of a tap list and the odd one left, if any. */
function pairing(qs: readonly number[]): { pairs: [number, number][]; odd: number | undefined } {
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < qs.length; i += 2) pairs.push([qs[i]!, qs[i + 1]!]);
  return { pairs, odd: qs.length % 2 ? qs[qs.length - 1] : undefined };
}

/**
 * One block product for outputs ps from inputs qs: `w(p, q)` names the weight local, `x(q)` the
 * input local, `xi(p)` the precomputed weight-pair sum, `eta` the shared input-pair sum.
 */
function winogradDot(p: number, qs: readonly number[], w: (p: number, q: number) => string, x: (q: number) => string, xi: string, eta: string, count: Counter, trips: number): string {
  const { pairs, odd } = pairing(qs);
  const terms = pairs.map(([a, b]) => `(${w(p, a)} + ${x(b)}) * (${w(p, b)} + ${x(a)})`);
  if (odd !== undefined) terms.push(`${w(p, odd)} * ${x(odd)}`);
  count.mults += trips * terms.length;
  count.adds += trips * (2 * pairs.length + Math.max(terms.length - 1, 0) + (pairs.length ? 2 : 0));
  const sum = terms.length ? terms.join(' + ') : '0';
  return pairs.length ? `${sum} - ${xi} - ${eta}` : sum;
}

function etaCode(qs: readonly number[], x: (q: number) => string, count: Counter, trips: number): string {
  const { pairs } = pairing(qs);
  count.mults += trips * pairs.length;
  count.adds += trips * Math.max(pairs.length - 1, 0);
  return `const eta = ${pairs.length ? pairs.map(([a, b]) => `${x(a)} * ${x(b)}`).join(' + ') : '0'};`;
}

/** ξ locals of every distinct tap list of an axis, computed once per channel. */
function xiDecls(axis: AxisSpec, pieces: ReturnType<typeof axisPieces>, prefix: string, w: (p: number, q: number) => string): { code: string; name: (qs: readonly number[], p: number) => string } {
  const full = Array.from({ length: axis.in }, (_, i) => i);
  const lists = new Map<string, readonly number[]>();
  for (const pc of pieces) {
    const qs = pc.kind === 'full' ? full : pc.q;
    lists.set(qs.join('_'), qs);
  }
  const name = (qs: readonly number[], p: number) => `${prefix}${qs.join('_')}__${p}`;
  const code = [...lists.values()]
    .flatMap((qs) => {
      const { pairs } = pairing(qs);
      if (!pairs.length) return [];
      return Array.from({ length: axis.out }, (_, p) => `const ${name(qs, p)} = ${pairs.map(([a, b]) => `${w(p, a)} * ${w(p, b)}`).join(' + ')};`);
    })
    .join(' ');
  return { code, name };
}

function segmentSource(seg: Segment, p: NeoCellProblem, loop: ChannelLoop, count: Counter): string {
  const { N, H, W } = p;
  const { H_out, W_out } = segmentOutput(seg, H, W);
  const images = (seg.c1 - seg.c0) * N;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const aPieces = axisPieces(seg.a, seg.offA, H, H_out);
  const bPieces = axisPieces(seg.b, seg.offB, W, W_out);
  const wA = (pp: number, q: number) => aName(pp, q);
  const wB = (pp: number, q: number) => bName(q, pp);
  const xiA = xiDecls(seg.a, aPieces, 'xa', wA);
  const xiB = xiDecls(seg.b, bPieces, 'xb', wB);

  // Column pass (B) over `rows` rows of the band scratch into y.
  const columnPass = (rows: number, dstBase: string, bandTrips: number) => {
    const body = (tExpr: string, ps: readonly number[], qs: readonly number[], trips: number) => {
      const x = (q: number) => `v${q}`;
      const loads = qs.map((q) => `const v${q} = scratch[si + ${tExpr} * ${seg.b.in} + ${seg.offB + q}];`).join(' ');
      const stores = ps.map((pp) => `y[di + ${tExpr} * ${seg.b.out} + ${seg.offB + pp}] = ${winogradDot(pp, qs, wB, x, xiB.name(qs, pp), 'eta', count, trips)};`).join(' ');
      return `${loads} ${etaCode(qs, x, count, trips)} ${stores}`;
    };
    const t = images * rows * bandTrips;
    const pieces = bPieces
      .map((pc) =>
        pc.kind === 'full'
          ? `for (let t = ${pc.t0}; t <= ${pc.t1}; t++) { ${body('t', range(seg.b.out), range(seg.b.in), t * (pc.t1 - pc.t0 + 1))} }`
          : `{ const tc = ${pc.t}; ${body('tc', pc.p, pc.q, t)} }`,
      )
      .join('\n');
    return `for (let r = 0; r < ${rows}; r++) { const si = r * ${W}; const di = ${dstBase} + r * ${W_out};\n${pieces}\n}`;
  };

  const band = (tb: string, ps: readonly number[], qs: readonly number[], bandTrips: number) => {
    const p0 = ps[0]!;
    const x = (q: number) => `x${q}`;
    const t = images * W * bandTrips;
    const loads = qs.map((q) => `const x${q} = x[xb + (${tb} * ${seg.a.in} + ${seg.offA + q}) * ${W} + s];`).join(' ');
    const stores = ps.map((pp) => `scratch[${(pp - p0) * W} + s] = ${winogradDot(pp, qs, wA, x, xiA.name(qs, pp), 'eta', count, t)};`).join(' ');
    return `for (let s = 0; s < ${W}; s++) { ${loads} ${etaCode(qs, x, count, t)} ${stores} }
${columnPass(ps.length, `yb + (${tb} * ${seg.a.out} + ${seg.offA + p0}) * ${W_out}`, bandTrips)}`;
  };
  const bands = aPieces
    .map((pc) =>
      pc.kind === 'full'
        ? `for (let tb = ${pc.t0}; tb <= ${pc.t1}; tb++) {\n${band('tb', range(seg.a.out), range(seg.a.in), pc.t1 - pc.t0 + 1)}\n}`
        : `{ const tb = ${pc.t};\n${band('tb', pc.p, pc.q, 1)}\n}`,
    )
    .join('\n');
  return emitSegmentLoops(seg, p, loop, bands, `${xiA.code} ${xiB.code}`);
}

export function winogradJsSource(p: NeoCellProblem, loop: ChannelLoop): { parts: string[]; count: Counter } {
  const count: Counter = { mults: 0, adds: 0 };
  return { parts: cellSegments(p.cell).map((seg) => segmentSource(seg, p, loop, count)), count };
}

export const winogradJs: KernelVariant<NeoCellProblem> = {
  backend: 'cpu',
  name: 'winograd-js',
  op: 'neocell',
  role: 'neocell',
  params: () => [{ name: 'loop', values: LOOPS, doc: 'channels outer (cn) or batch outer (nc)' }],
  defaults: () => ({ loop: 'cn' }),
  generate(problem, params) {
    const p = problem;
    const { parts, count } = winogradJsSource(p, params.loop as ChannelLoop);
    const maxRows = Math.max(...p.cell.groups.map((g) => g.a.out));
    // "macs" here = multiplications actually executed (the scheme's point); adds reported beside.
    return jsKernelSpec(`winograd-js-${params.loop}`, parts, maxRows * p.W, { multiplies: count.mults, adds: count.adds, macs: count.mults });
  },
};
