/**
 * NeoCell specification model (semantics: docs/neocell.md).
 *
 * A cell splits C channels into contiguous groups. Each group has one block size per axis:
 * A (rows, H) is built from an `out × in` block a (h_out × h_in), B (columns, W) from an
 * `in × out` block b (w_in × w_out). Square blocks may be shifted; a shifted group is split
 * into sub-groups whose diagonal starts at offset j·s.
 */
import { InputError, nonNegativeInt, positiveInt } from './errors.js';

/** One axis of a group: block size in → out and the shift (0 = plain block diagonal). */
export interface AxisSpec {
  readonly in: number;
  readonly out: number;
  readonly shift: number;
}

export interface GroupSpec {
  /** First channel of the group (groups are contiguous, in spec order). */
  readonly start: number;
  readonly channels: number;
  /** Rows: A is H_out × H built from a (h_out × h_in). */
  readonly a: AxisSpec;
  /** Columns: B is W × W_out built from b (w_in × w_out). */
  readonly b: AxisSpec;
}

/** A NeoCell layer's cell: C channels split into groups, each with its A (height) and B (width) block axes. */
export interface CellSpec {
  readonly C: number;
  readonly groups: readonly GroupSpec[];
}

/** Explicit per-group description, as a user or a suite file writes it. */
export interface ChannelSpecInput {
  channels?: number;
  kernel?: number;
  kernel_a?: number;
  kernel_b?: number;
  h_in?: number;
  h_out?: number;
  w_in?: number;
  w_out?: number;
  shift?: number;
  shift_a?: number;
  shift_b?: number;
}

/** Shifts applied to every group of a spec string ("4+7" with shift 1 = the network's stage cell). */
export interface ShiftOptions {
  shift?: number;
  shift_a?: number;
  shift_b?: number;
}

const CHANNEL_SPEC_KEYS = ['channels', 'kernel', 'kernel_a', 'kernel_b', 'h_in', 'h_out', 'w_in', 'w_out', 'shift', 'shift_a', 'shift_b'] as const;
const SPEC_STRING_ALLOWED = "positive integers joined by '+', e.g. \"7\", \"4+7\", \"3+5+7\"";
/** Block sizes beyond this are not a NeoCell any more (and would blow up unrolled code). */
export const MAX_BLOCK = 64;

/** Parses a kernel spec string such as "4+7" into its block sizes. */
export function parseKernelSpec(spec: unknown): number[] {
  if (typeof spec !== 'string') throw new InputError('spec', spec, SPEC_STRING_ALLOWED);
  const s = spec.replace(/\s+/g, '');
  if (!/^[0-9]+(\+[0-9]+)*$/.test(s)) throw new InputError('spec', spec, SPEC_STRING_ALLOWED);
  return s.split('+').map((t) => {
    const k = Number(t);
    if (k < 1 || k > MAX_BLOCK) {
      throw new InputError('spec', spec, SPEC_STRING_ALLOWED, `block size ${t} is outside 1..${MAX_BLOCK}`);
    }
    return k;
  });
}

/** Channel counts of n groups: C / n rounded down each, the last group takes the remainder. */
export function splitChannels(C: number, n: number, what = 'spec'): number[] {
  const per = Math.floor(C / n);
  if (per < 1) {
    throw new InputError('channels', C, `at least ${n} (one per group of the ${what})`, `${n} groups cannot share ${C} channels`);
  }
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? C - per * (n - 1) : per));
}

/**
 * Builds a validated cell for C channels from a spec string ("4+7", with optional shifts) or from
 * explicit channel specs. Throws InputError naming the field for every invalid input.
 */
export function buildCell(C: number, input: string | ChannelSpecInput | readonly ChannelSpecInput[], shifts: ShiftOptions = {}): CellSpec {
  positiveInt('C', C);
  let entries: ChannelSpecInput[];
  if (typeof input === 'string') {
    const ks = parseKernelSpec(input);
    entries = ks.map((k) => ({ kernel: k, ...shifts }));
  } else if (Array.isArray(input)) {
    if (input.length === 0) throw new InputError('groups', input, 'a non-empty list of channel specs');
    entries = input.map((e) => ({ ...shifts, ...e }));
  } else if (input && typeof input === 'object') {
    entries = [{ ...shifts, ...(input as ChannelSpecInput) }];
  } else {
    throw new InputError('spec', input, `${SPEC_STRING_ALLOWED}, or channel spec objects`);
  }

  const given = entries.map((e) => e.channels);
  let counts: number[];
  if (given.every((c) => c === undefined)) {
    counts = splitChannels(C, entries.length);
  } else if (given.every((c) => c !== undefined)) {
    counts = given.map((c, i) => positiveInt(`groups[${i}].channels`, c));
    const sum = counts.reduce((x, y) => x + y, 0);
    if (sum !== C) throw new InputError('channels', counts, `channel counts summing to C = ${C}`, `they sum to ${sum}`);
  } else {
    throw new InputError('channels', given, 'either every group gives channels or none does');
  }

  let start = 0;
  const groups = entries.map((e, i) => {
    const g = buildGroup(e, `groups[${i}]`, start, counts[i]!);
    start += g.channels;
    return g;
  });
  return { C, groups };
}

function buildGroup(e: ChannelSpecInput, where: string, start: number, channels: number): GroupSpec {
  for (const key of Object.keys(e)) {
    if (!(CHANNEL_SPEC_KEYS as readonly string[]).includes(key)) {
      throw new InputError(`${where}.${key}`, (e as Record<string, unknown>)[key], `one of the fields ${CHANNEL_SPEC_KEYS.join(', ')}`, 'unknown field');
    }
  }
  const a = buildAxis(e, where, 'a', e.h_in, e.h_out, e.kernel_a, e.shift_a);
  const b = buildAxis(e, where, 'b', e.w_in, e.w_out, e.kernel_b, e.shift_b);
  return { start, channels, a, b };
}

function buildAxis(
  e: ChannelSpecInput,
  where: string,
  axis: 'a' | 'b',
  inSize: number | undefined,
  outSize: number | undefined,
  kernelAxis: number | undefined,
  shiftAxis: number | undefined,
): AxisSpec {
  const [inName, outName] = axis === 'a' ? ['h_in', 'h_out'] : ['w_in', 'w_out'];
  const square = kernelAxis ?? e.kernel;
  const squareName = kernelAxis !== undefined ? `kernel_${axis}` : 'kernel';
  if (square !== undefined) positiveInt(`${where}.${squareName}`, square, MAX_BLOCK);
  const inV = inSize ?? square;
  const outV = outSize ?? square;
  if (inV === undefined || outV === undefined) {
    throw new InputError(`${where}.${inV === undefined ? inName : outName}`, undefined, `a block size: give kernel, kernel_${axis} or ${inName} and ${outName}`);
  }
  positiveInt(`${where}.${inName}`, inV, MAX_BLOCK);
  positiveInt(`${where}.${outName}`, outV, MAX_BLOCK);
  const shiftName = shiftAxis !== undefined ? `shift_${axis}` : 'shift';
  const shift = nonNegativeInt(`${where}.${shiftName}`, shiftAxis ?? e.shift ?? 0);
  if (shift > 0 && inV !== outV) {
    throw new InputError(`${where}.${shiftName}`, shift, `0 for a rectangular block (${inName} = ${inV}, ${outName} = ${outV}); only square blocks may be shifted`);
  }
  if (shift > 0 && shift >= inV) {
    throw new InputError(`${where}.${shiftName}`, shift, `0 to ${inV - 1} (shift must be smaller than the block size ${inV})`);
  }
  return { in: inV, out: outV, shift };
}

/** floor(n · out / in), in integers; 0 is an error ("output size is too small"). */
export function axisOutputSize(n: number, axis: AxisSpec, field: string): number {
  const out = Math.floor((n * axis.out) / axis.in);
  if (out < 1) {
    throw new InputError(field, n, `an input size of at least ${Math.ceil(axis.in / axis.out)} for a ${axis.in}→${axis.out} block`, 'output size is too small');
  }
  return out;
}

/** Output spatial size of a cell; every group must produce the same one. */
export function cellOutputShape(cell: CellSpec, H: number, W: number): { H_out: number; W_out: number } {
  positiveInt('H', H);
  positiveInt('W', W);
  let shape: { H_out: number; W_out: number } | undefined;
  cell.groups.forEach((g, i) => {
    const s = { H_out: axisOutputSize(H, g.a, 'H'), W_out: axisOutputSize(W, g.b, 'W') };
    if (shape && (shape.H_out !== s.H_out || shape.W_out !== s.W_out)) {
      throw new InputError(`groups[${i}]`, `${s.H_out}×${s.W_out}`, `the output size of group 0 (${shape.H_out}×${shape.W_out}): all groups must produce one output tensor`);
    }
    shape = s;
  });
  return shape!;
}

/** Number of shift sub-groups of an axis: (k − 1) / s + 1, or 1 without shift. */
export function shiftSubgroups(axis: AxisSpec): number {
  return axis.shift === 0 ? 1 : Math.floor((axis.in - 1) / axis.shift) + 1;
}

/** Diagonal offset used on `axis` by the channel with index `i` inside a group of `channels`. */
export function shiftOffset(axis: AxisSpec, channels: number, i: number): number {
  if (axis.shift === 0) return 0;
  const num = shiftSubgroups(axis);
  const per = Math.floor(channels / num);
  const j = per === 0 ? num - 1 : Math.min(Math.floor(i / per), num - 1);
  return j * axis.shift;
}

/** Channel ranges [start, end) of the shift sub-groups of an axis, each with its offset. */
export function shiftRanges(axis: AxisSpec, channels: number): { start: number; end: number; offset: number }[] {
  const num = shiftSubgroups(axis);
  const per = Math.floor(channels / num);
  return Array.from({ length: num }, (_, j) => ({
    start: Math.min(j * per, channels),
    end: j === num - 1 ? channels : (j + 1) * per,
    offset: j * axis.shift,
  })).filter((r) => r.end > r.start);
}

/**
 * Taps of one axis: for output index i, the inputs are the contiguous range
 * [inStart[i], inStart[i] + count[i]) and use block entries (outLocal[i], inLocal0[i] + t).
 * Blocks start at (t·out + offset, t·in + offset) for every integer t and are clipped to the
 * matrix on both sides: the end clip keeps the top-left of the block (partial last block), the
 * start clip (t = −1, offset > 0) keeps the bottom-right (the shift's corner fill).
 */
export interface AxisTaps {
  readonly nIn: number;
  readonly nOut: number;
  readonly inStart: Int32Array;
  readonly count: Int32Array;
  readonly outLocal: Int32Array;
  readonly inLocal0: Int32Array;
}

export function axisTaps(axis: AxisSpec, offset: number, nIn: number, nOut: number): AxisTaps {
  const inStart = new Int32Array(nOut);
  const count = new Int32Array(nOut);
  const outLocal = new Int32Array(nOut);
  const inLocal0 = new Int32Array(nOut);
  for (let i = 0; i < nOut; i++) {
    const t = Math.floor((i - offset) / axis.out);
    const blockIn = t * axis.in + offset;
    const lo = Math.max(blockIn, 0);
    const hi = Math.min(blockIn + axis.in, nIn);
    outLocal[i] = i - offset - t * axis.out;
    inStart[i] = lo;
    inLocal0[i] = lo - blockIn;
    count[i] = Math.max(hi - lo, 0);
  }
  return { nIn, nOut, inStart, count, outLocal, inLocal0 };
}

/** Canonical text of a cell, used in records, cache keys and tables ("48c:k4s1+48c:k7s1"). */
export function formatCell(cell: CellSpec): string {
  return cell.groups
    .map((g) => {
      const { a, b } = g;
      const square = a.in === a.out && b.in === b.out && a.in === b.in;
      let t = `${g.channels}c:`;
      if (square) {
        t += `k${a.in}`;
        if (a.shift === b.shift) t += a.shift ? `s${a.shift}` : '';
        else t += `sa${a.shift}sb${b.shift}`;
      } else {
        t += `a${a.in}>${a.out}${a.shift ? `s${a.shift}` : ''},b${b.in}>${b.out}${b.shift ? `s${b.shift}` : ''}`;
      }
      return t;
    })
    .join('+');
}

const CANONICAL_ALLOWED = 'groups joined by "+", each "<channels>c:k<size>" (square block, optional "s<shift>" or "sa<shift>sb<shift>") or "<channels>c:a<in>><out>,b<in>><out>" (rectangular), e.g. "48c:k4s1+48c:k7s1"';

/**
 * The channel specs of a canonical cell text (formatCell's output, "48c:k4s1+48c:k7s1"): the
 * inverse of formatCell, so a stored problem record or a typed-in cell rebuilds its exact cell.
 */
export function parseCellText(text: string, field = 'spec'): ChannelSpecInput[] {
  const s = typeof text === 'string' ? text.replace(/\s+/g, '') : '';
  const groups = s.split('+').map((t) => {
    const square = /^(\d+)c:k(\d+)(?:s(\d+)|sa(\d+)sb(\d+))?$/.exec(t);
    if (square) {
      const [, c, k, sh, sa, sb] = square;
      return { channels: Number(c), kernel: Number(k), ...(sa !== undefined ? { shift_a: Number(sa), shift_b: Number(sb) } : { shift: Number(sh ?? 0) }) };
    }
    const rect = /^(\d+)c:a(\d+)>(\d+)(?:s(\d+))?,b(\d+)>(\d+)(?:s(\d+))?$/.exec(t);
    if (rect) {
      const [, c, hi, ho, sa, wi, wo, sb] = rect;
      return { channels: Number(c), h_in: Number(hi), h_out: Number(ho), w_in: Number(wi), w_out: Number(wo), shift_a: Number(sa ?? 0), shift_b: Number(sb ?? 0) };
    }
    throw new InputError(field, text, CANONICAL_ALLOWED, t ? `"${t}" is not a group` : 'empty group');
  });
  return groups;
}

/** Short human label: the kernel spec string if the channel split is the default one ("4+7 s1"). */
export function describeCell(cell: CellSpec): string {
  const gs = cell.groups;
  const allSquare = gs.every((g) => g.a.in === g.a.out && g.b.in === g.b.out && g.a.in === g.b.in);
  const shifts = new Set(gs.flatMap((g) => [g.a.shift, g.b.shift]));
  const defaultSplit = splitChannelsSafe(cell.C, gs.length)?.every((c, i) => c === gs[i]!.channels);
  if (allSquare && defaultSplit && shifts.size === 1) {
    const s = [...shifts][0]!;
    return gs.map((g) => g.a.in).join('+') + (s ? ` s${s}` : '');
  }
  const g = gs[0]!;
  if (gs.length === 1 && shifts.size === 1 && shifts.has(0)) {
    // One rectangular group: "2→1" when both axes agree, else "A 3→2, B 2→3".
    return g.a.in === g.b.in && g.a.out === g.b.out ? `${g.a.in}→${g.a.out}` : `A ${g.a.in}→${g.a.out}, B ${g.b.in}→${g.b.out}`;
  }
  return formatCell(cell);
}

function splitChannelsSafe(C: number, n: number): number[] | undefined {
  try {
    return splitChannels(C, n);
  } catch {
    return undefined;
  }
}
