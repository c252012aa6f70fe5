/**
 * Problems: construction with validation, their random data with the float64 oracle, their costs,
 * and their serialised form in result records and database keys.
 */
import { InputError, positiveInt } from '../core/errors.js';
import { cellCost, dwconvBytes, dwconvMacs } from '../core/flops.js';
import { depthwiseConvReference, neoCellReference } from '../core/reference.js';
import { Rng } from '../core/rng.js';
import { type ChannelSpecInput, type ShiftOptions, buildCell, cellOutputShape, formatCell, describeCell, MAX_BLOCK, parseCellText } from '../core/spec.js';
import { randomWeights } from '../core/weights.js';
import type { CopyProblem, Dtype, DwConvProblem, NeoCellProblem, Problem, ProblemData } from './types.js';

/** Tensors beyond this many elements are refused up front (4 GiB of float32 per tensor). */
export const MAX_ELEMENTS = 2 ** 30;
export const DTYPES: readonly Dtype[] = ['float32', 'float16'];

export interface ShapeInput {
  N: number;
  C: number;
  H: number;
  W: number;
  dtype?: Dtype;
}

function checkShape(s: ShapeInput): { N: number; C: number; H: number; W: number; dtype: Dtype } {
  const N = positiveInt('N', s.N);
  const C = positiveInt('C', s.C);
  const H = positiveInt('H', s.H);
  const W = positiveInt('W', s.W);
  const dtype = s.dtype ?? 'float32';
  if (!DTYPES.includes(dtype)) throw new InputError('dtype', dtype, DTYPES.join(', '));
  if (N * C * H * W > MAX_ELEMENTS) {
    throw new InputError('N·C·H·W', N * C * H * W, `at most ${MAX_ELEMENTS} elements per tensor`);
  }
  return { N, C, H, W, dtype };
}

/** A validated NeoCell problem: shape, spec as a kernel string ("4+7") or the official channel specs, shifts, dtype. Bad values throw an InputError naming the field. */
export function neoCellProblem(s: ShapeInput & { spec: string | ChannelSpecInput | readonly ChannelSpecInput[] } & ShiftOptions): NeoCellProblem {
  const shape = checkShape(s);
  const cell = buildCell(shape.C, s.spec, { shift: s.shift, shift_a: s.shift_a, shift_b: s.shift_b } as ShiftOptions);
  cellOutputShape(cell, shape.H, shape.W);
  return { op: 'neocell', ...shape, cell };
}

/** A validated depthwise convolution problem (K×K kernel, same padding): the baseline NeoCell replaces. */
export function dwconvProblem(s: ShapeInput & { K: number }): DwConvProblem {
  const shape = checkShape(s);
  return { op: 'dwconv', ...shape, K: positiveInt('K', s.K, MAX_BLOCK) };
}

/** A validated copy problem: the memory-bandwidth ceiling for a tensor of this shape. */
export function copyProblem(s: ShapeInput): CopyProblem {
  return { op: 'copy', ...checkShape(s) };
}

export function outputShape(p: Problem): { N: number; C: number; H: number; W: number } {
  if (p.op !== 'neocell') return { N: p.N, C: p.C, H: p.H, W: p.W };
  const { H_out, W_out } = cellOutputShape(p.cell, p.H, p.W);
  return { N: p.N, C: p.C, H: H_out, W: W_out };
}

/** Random inputs (uniform [-1, 1), float32) and weights for a problem, reproducible from `seed`. */
export function makeProblemData(problem: Problem, seed = 1): ProblemData {
  const rng = new Rng(seed);
  const { N, C, H, W } = problem;
  const x = rng.float32Array(N * C * H * W);
  const outShape = outputShape(problem);
  let ref: Float64Array | undefined;
  if (problem.op === 'neocell') {
    const w64 = randomWeights(problem.cell, seed + 7919);
    const cellWeights = { a: w64.a.map((a) => Float32Array.from(a)), b: w64.b.map((b) => Float32Array.from(b)) };
    return {
      problem,
      seed,
      x,
      cellWeights,
      outShape,
      reference: () => (ref ??= neoCellReference(x, problem, problem.cell, w64)),
    };
  }
  if (problem.op === 'dwconv') {
    const dwWeights = rng.float32Array(C * problem.K * problem.K);
    return { problem, seed, x, dwWeights, outShape, reference: () => (ref ??= depthwiseConvReference(x, problem, problem.K, dwWeights)) };
  }
  return { problem, seed, x, outShape, reference: () => (ref ??= Float64Array.from(x)) };
}

/** Serialised problem, as stored in result records and database keys. */
export interface ProblemRecord {
  op: Problem['op'];
  N: number;
  C: number;
  H: number;
  W: number;
  dtype: Dtype;
  /** Canonical cell text (neocell), "dw7" (dwconv) or "copy". */
  spec: string;
  /** Short label for tables ("4+7 s1"). */
  label: string;
  K?: number;
}

/** The serialisable description of a problem (op, shape, dtype, canonical spec and label) stored in result files and databases. */
export function problemRecord(p: Problem): ProblemRecord {
  const base = { op: p.op, N: p.N, C: p.C, H: p.H, W: p.W, dtype: p.dtype };
  if (p.op === 'neocell') return { ...base, spec: formatCell(p.cell), label: describeCell(p.cell) };
  if (p.op === 'dwconv') return { ...base, spec: `dw${p.K}`, label: `dwconv ${p.K}×${p.K}`, K: p.K };
  return { ...base, spec: 'copy', label: 'copy' };
}

/**
 * The problem a record describes (a stored or submitted one), checked: a record whose spec or
 * label does not describe the problem it rebuilds is refused with the field (`field`.spec…).
 */
export function problemFromRecord(r: ProblemRecord, field = 'problem'): Problem {
  const shape = { N: r.N, C: r.C, H: r.H, W: r.W, dtype: r.dtype };
  let p: Problem;
  if (r.op === 'neocell') {
    try {
      p = neoCellProblem({ ...shape, spec: parseCellText(r.spec, `${field}.spec`) });
    } catch (e) {
      // A cell that parses but is not valid (a shift beyond its block): the record's spec is at fault.
      if (e instanceof InputError && !e.field.startsWith(field)) throw new InputError(`${field}.spec`, r.spec, 'a valid canonical cell', e.message);
      throw e;
    }
  }
  else if (r.op === 'dwconv') {
    const K = Number(/^dw(\d+)$/.exec(r.spec)?.[1]);
    if (!K) throw new InputError(`${field}.spec`, r.spec, '"dw<K>" for a depthwise conv');
    p = dwconvProblem({ ...shape, K });
  } else if (r.op === 'copy') p = copyProblem(shape);
  else throw new InputError(`${field}.op`, (r as { op: unknown }).op, 'neocell, dwconv, copy');
  const back = problemRecord(p);
  for (const k of ['spec', 'label', 'K'] as const) {
    if (back[k] !== r[k]) throw new InputError(`${field}.${k}`, r[k], JSON.stringify(back[k] ?? null), 'the record does not describe the problem it names');
  }
  return p;
}

/** A stable text key of a problem ("neocell 1x96x56x56 48c:k4s1+48c:k7s1 float32"). */
export function problemKey(p: Problem): string {
  const r = problemRecord(p);
  return `${r.op} ${r.N}x${r.C}x${r.H}x${r.W} ${r.spec} ${r.dtype}`;
}

export function elementBytes(dtype: Dtype): number {
  return dtype === 'float16' ? 2 : 4;
}

/** FLOPs (2 · MACs) and minimum bytes of a problem, independent of the kernel that solves it. */
export interface ProblemCosts {
  /** Useful FLOPs: zeros skipped, cheaper application order (neocell); the conv's own (dwconv). */
  readonly useful_flops: number;
  /** FLOPs of a depthwise 7×7 conv producing the same output tensor (what NeoCell replaces). */
  readonly dwconv7_flops: number;
  readonly bytes: number;
}

export function problemCosts(p: Problem): ProblemCosts {
  const eb = elementBytes(p.dtype);
  const out = outputShape(p);
  const dw7 = 2 * dwconvMacs(out.N, out.C, out.H, out.W, 7);
  if (p.op === 'neocell') {
    const c = cellCost(p.cell, p.N, p.H, p.W, eb);
    return { useful_flops: 2 * c.useful, dwconv7_flops: dw7, bytes: c.bytes.total };
  }
  if (p.op === 'dwconv') {
    return { useful_flops: 2 * dwconvMacs(p.N, p.C, p.H, p.W, p.K), dwconv7_flops: dw7, bytes: dwconvBytes(p.N, p.C, p.H, p.W, p.K, eb) };
  }
  return { useful_flops: 0, dwconv7_flops: dw7, bytes: 2 * p.N * p.C * p.H * p.W * eb };
}
