/**
 * Shared code generation for CPU (JavaScript) NeoCell kernels. Variants only choose how to combine
 * the pieces below; the block structure (segments, full and clipped blocks) is derived here once.
 *
 * Generated code is specialised to the problem: block sizes, offsets and spatial sizes are
 * constants, inner block products are fully unrolled, and weights live in locals.
 */
import type { AxisSpec } from '../../core/spec.js';
import { axisPieces, type Segment, segmentOutput } from '../../core/structure.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** Local name of A's block entry (output row p, input row q) and B's (input column q, output column p). */
export const aName = (p: number, q: number) => `a${p}_${q}`;
export const bName = (q: number, p: number) => `b${q}_${p}`;

/** Declares A's k_out × k_in weights of the current channel as locals, from `arr[base + p·in + q]`. */
export function loadA(axis: AxisSpec, arr: string, base: string): string {
  return range(axis.out)
    .flatMap((p) => range(axis.in).map((q) => `const ${aName(p, q)} = ${arr}[${base} + ${p * axis.in + q}];`))
    .join(' ');
}

/** Declares B's w_in × w_out weights of the current channel as locals, from `arr[base + q·out + p]`. */
export function loadB(axis: AxisSpec, arr: string, base: string): string {
  return range(axis.in)
    .flatMap((q) => range(axis.out).map((p) => `const ${bName(q, p)} = ${arr}[${base} + ${q * axis.out + p}];`))
    .join(' ');
}

function sumTerms(terms: string[]): string {
  return terms.length ? terms.join(' + ') : '0';
}

/**
 * Row pass (A): dst[(row o)·width + s] = Σ_q a[p][q] · src[(row i_q)·width + s], for each output row
 * of the axis. One loop over s per block loads each input row element once for all block rows.
 */
export function emitRowPass(axis: AxisSpec, offset: number, nIn: number, nOut: number, width: number, src: string, srcBase: string, dst: string, dstBase: string): string {
  const body = (tExpr: string, ps: readonly number[], qs: readonly number[]) => {
    const loads = qs.map((q) => `const x${q} = ${src}[${srcBase} + (${tExpr} * ${axis.in} + ${offset + q}) * ${width} + s];`);
    const stores = ps.map((p) => `${dst}[${dstBase} + (${tExpr} * ${axis.out} + ${offset + p}) * ${width} + s] = ${sumTerms(qs.map((q) => `${aName(p, q)} * x${q}`))};`);
    return `for (let s = 0; s < ${width}; s++) { ${loads.join(' ')} ${stores.join(' ')} }`;
  };
  return axisPieces(axis, offset, nIn, nOut)
    .map((pc) =>
      pc.kind === 'full'
        ? `for (let t = ${pc.t0}; t <= ${pc.t1}; t++) { ${body('t', range(axis.out), range(axis.in))} }`
        : `{ const tc = ${pc.t}; ${body('tc', pc.p, pc.q)} }`,
    )
    .join('\n');
}

/**
 * Column pass (B): for each of `rows` rows, dst[row·nOut + o] = Σ_q src[row·nIn + i_q] · b[q][p].
 * Block inputs are loaded once into locals and reused by every output column of the block.
 */
export function emitColumnPass(axis: AxisSpec, offset: number, nIn: number, nOut: number, rows: number, src: string, srcBase: string, dst: string, dstBase: string): string {
  const body = (tExpr: string, ps: readonly number[], qs: readonly number[]) => {
    const loads = qs.map((q) => `const x${q} = ${src}[si + ${tExpr} * ${axis.in} + ${offset + q}];`);
    const stores = ps.map((p) => `${dst}[di + ${tExpr} * ${axis.out} + ${offset + p}] = ${sumTerms(qs.map((q) => `x${q} * ${bName(q, p)}`))};`);
    return `${loads.join(' ')} ${stores.join(' ')}`;
  };
  const pieces = axisPieces(axis, offset, nIn, nOut)
    .map((pc) =>
      pc.kind === 'full'
        ? `for (let t = ${pc.t0}; t <= ${pc.t1}; t++) { ${body('t', range(axis.out), range(axis.in))} }`
        : `{ const tc = ${pc.t}; ${body('tc', pc.p, pc.q)} }`,
    )
    .join('\n');
  return `for (let r = 0; r < ${rows}; r++) { const si = ${srcBase} + r * ${nIn}; const di = ${dstBase} + r * ${nOut};\n${pieces}\n}`;
}

/** Compiles generated JavaScript into a function. Named so profiles and stack traces say which kernel. */
export function compileJs<F>(name: string, args: readonly string[], body: string): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(...args, `"use strict";\n${body}\n//# sourceURL=neotune-${name}.js`) as F;
}

export type ChannelLoop = 'cn' | 'nc';

/**
 * The loop nest of one segment around a per-image body: channels outer (`cn`: weights loaded once per
 * channel) or batch outer (`nc`). Declares cl (channel in group), the weight locals (plus
 * `extraWeights`, e.g. precomputed sums), xb/yb (image offsets in x and y).
 */
export function emitSegmentLoops(seg: Segment, p: { N: number; C: number; H: number; W: number }, loop: ChannelLoop, imageBody: string, extraWeights = ''): string {
  const { N, C, H, W } = p;
  const { H_out, W_out } = segmentOutput(seg, H, W);
  const weights = `const cl = c - ${seg.c0 - seg.local0};
  ${loadA(seg.a, 'wA', `cl * ${seg.a.in * seg.a.out}`)}
  ${loadB(seg.b, 'wB', `cl * ${seg.b.in * seg.b.out}`)} ${extraWeights}`;
  const image = `const xb = (n * ${C} + c) * ${H * W}; const yb = (n * ${C} + c) * ${H_out * W_out};\n${imageBody}`;
  const body =
    loop === 'cn'
      ? `for (let c = ${seg.c0}; c < ${seg.c1}; c++) { ${weights}\n for (let n = 0; n < ${N}; n++) {\n${image}\n} }`
      : `for (let n = 0; n < ${N}; n++) for (let c = ${seg.c0}; c < ${seg.c1}; c++) { ${weights}\n${image}\n}`;
  return `// group ${seg.group}, channels ${seg.c0}..${seg.c1 - 1}, offsets A ${seg.offA} B ${seg.offB}
const wA = wa[${seg.group}], wB = wb[${seg.group}];
${body}`;
}
