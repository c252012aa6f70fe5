/**
 * The counting build of a generated WebAssembly kernel: the very module that is timed, with a
 * counter added at the start of every straight-line run of instructions (after a `loop`, an `end`,
 * a `br_if`…: wherever control can arrive other than by falling through). Each counter is an
 * exported mutable i64 global; each run's instructions are classified once, statically. Executed
 * operations by class = Σ over runs of (times the run was entered × its static counts): exact, and
 * the same on every machine and in every run, since NeoCell kernels branch on no data.
 *
 * The decoder knows every instruction the encoder (encoder.ts) emits plus the rest of the numeric,
 * memory and SIMD opcodes with their immediates; anything else is refused by name, never miscounted.
 */

import { executedCounts } from '../../../harness/executed.js';
import type { OperationCounts } from '../../../harness/types.js';
import { append, uleb as ulebInto } from './encoder.js';

interface Insn {
  readonly start: number;
  readonly end: number;
  readonly classes: readonly (readonly [string, number])[];
  /** Control can arrive right after this instruction other than by falling through into it. */
  readonly splits: boolean;
}

class Reader {
  constructor(
    readonly b: Uint8Array,
    public at: number,
  ) {}
  byte(): number {
    if (this.at >= this.b.length) throw new Error('wasm count: unexpected end of module');
    return this.b[this.at++]!;
  }
  uleb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) return result;
    }
  }
  /** Signed LEB128 of any width: only its length matters here. */
  skipLeb(): void {
    while (this.byte() & 0x80);
  }
  skip(n: number): void {
    this.at += n;
  }
}

/** Unsigned LEB128 bytes of n. */
function uleb(n: number): number[] {
  const out: number[] = [];
  ulebInto(n, out);
  return out;
}

/** Bytes moved by the MVP loads (0x28–0x35) and stores (0x36–0x3e). */
const MVP_MEMORY_BYTES: Readonly<Record<number, number>> = {
  0x28: 4, 0x29: 8, 0x2a: 4, 0x2b: 8, 0x2c: 1, 0x2d: 1, 0x2e: 2, 0x2f: 2, 0x30: 1, 0x31: 1, 0x32: 2, 0x33: 2, 0x34: 4, 0x35: 4,
  0x36: 4, 0x37: 8, 0x38: 4, 0x39: 8, 0x3a: 1, 0x3b: 2, 0x3c: 1, 0x3d: 2, 0x3e: 4,
};
/** SIMD loads (memarg) and their bytes: v128.load, the extending loads, the splats, load32/64_zero. */
const SIMD_LOAD_BYTES: Readonly<Record<number, number>> = { 0x00: 16, 0x01: 8, 0x02: 8, 0x03: 8, 0x04: 8, 0x05: 8, 0x06: 8, 0x07: 1, 0x08: 2, 0x09: 4, 0x0a: 8, 0x5c: 4, 0x5d: 8 };
/** SIMD lane loads (memarg + lane) and stores. */
const SIMD_LOAD_LANE_BYTES: Readonly<Record<number, number>> = { 0x54: 1, 0x55: 2, 0x56: 4, 0x57: 8 };
const SIMD_STORE_LANE_BYTES: Readonly<Record<number, number>> = { 0x58: 1, 0x59: 2, 0x5a: 4, 0x5b: 8 };

/** The classes counted, in the order reports list them. */
export const OPERATION_CLASSES = [
  'instructions',
  'vector_madds',
  'vector_muls',
  'vector_adds',
  'vector_other',
  'vector_loads',
  'vector_load_bytes',
  'vector_stores',
  'vector_store_bytes',
  'scalar_float_ops',
  'scalar_loads',
  'scalar_load_bytes',
  'scalar_stores',
  'scalar_store_bytes',
  'branches',
  'calls',
  'bulk_copies',
] as const;

/** Decodes one instruction at r.at (after its opcode byte `op` was read). */
function decodeInsn(r: Reader, op: number, start: number): Insn {
  const classes: [string, number][] = [['instructions', 1]];
  let splits = false;
  if (op === 0x02 || op === 0x03 || op === 0x04) {
    // block type: 0x40, a value type (one byte) or a type index (signed LEB)
    const bt = r.b[r.at]!;
    if (bt === 0x40 || bt >= 0x6f) r.skip(1);
    else r.skipLeb();
    splits = op !== 0x02;
  } else if (op === 0x05 || op === 0x0b) splits = true;
  else if (op === 0x0c || op === 0x0d) {
    r.uleb();
    classes.push(['branches', 1]);
    splits = true;
  } else if (op === 0x0e) {
    const n = r.uleb();
    for (let i = 0; i <= n; i++) r.uleb();
    classes.push(['branches', 1]);
    splits = true;
  } else if (op === 0x00 || op === 0x01 || op === 0x0f) splits = op !== 0x01;
  else if (op === 0x10) {
    r.uleb();
    classes.push(['calls', 1]);
    splits = true;
  } else if (op === 0x1a || op === 0x1b) {
    // drop, select
  } else if (op >= 0x20 && op <= 0x24) r.uleb();
  else if (MVP_MEMORY_BYTES[op] !== undefined) {
    r.uleb();
    r.uleb();
    const store = op >= 0x36;
    classes.push([store ? 'scalar_stores' : 'scalar_loads', 1], [store ? 'scalar_store_bytes' : 'scalar_load_bytes', MVP_MEMORY_BYTES[op]!]);
  } else if (op === 0x3f || op === 0x40) r.skip(1);
  else if (op === 0x41 || op === 0x42) r.skipLeb();
  else if (op === 0x43) r.skip(4);
  else if (op === 0x44) r.skip(8);
  else if (op >= 0x45 && op <= 0xc4) {
    // f32 (0x8b–0x98) and f64 (0x99–0xa6) arithmetic; the rest is integer work, comparisons and conversions
    if (op >= 0x8b && op <= 0xa6) classes.push(['scalar_float_ops', 1]);
  } else if (op === 0xfc) {
    const sub = r.uleb();
    if (sub <= 7) {
      // saturating truncations
    } else if (sub === 0x0a) {
      r.skip(2);
      classes.push(['bulk_copies', 1]);
    } else if (sub === 0x0b) {
      r.skip(1);
      classes.push(['bulk_copies', 1]);
    } else throw new Error(`wasm count: instruction 0xfc ${sub} at byte ${start} is not one the kernels use`);
  } else if (op === 0xfd) decodeSimd(r, r.uleb(), classes);
  else throw new Error(`wasm count: opcode 0x${op.toString(16)} at byte ${start} is not one the kernels use`);
  return { start, end: r.at, classes, splits };
}

function decodeSimd(r: Reader, sub: number, classes: [string, number][]): void {
  const memarg = () => {
    r.uleb();
    r.uleb();
  };
  if (SIMD_LOAD_BYTES[sub] !== undefined) {
    memarg();
    classes.push(['vector_loads', 1], ['vector_load_bytes', SIMD_LOAD_BYTES[sub]!]);
  } else if (sub === 0x0b) {
    memarg();
    classes.push(['vector_stores', 1], ['vector_store_bytes', 16]);
  } else if (SIMD_LOAD_LANE_BYTES[sub] !== undefined) {
    memarg();
    r.skip(1);
    classes.push(['vector_loads', 1], ['vector_load_bytes', SIMD_LOAD_LANE_BYTES[sub]!]);
  } else if (SIMD_STORE_LANE_BYTES[sub] !== undefined) {
    memarg();
    r.skip(1);
    classes.push(['vector_stores', 1], ['vector_store_bytes', SIMD_STORE_LANE_BYTES[sub]!]);
  } else if (sub === 0x0c || sub === 0x0d) {
    r.skip(16);
    classes.push(['vector_other', 1]);
  } else if (sub >= 0x15 && sub <= 0x22) {
    r.skip(1);
    classes.push(['vector_other', 1]);
  } else if (sub === 0x105 || sub === 0x106) classes.push(['vector_madds', 1]);
  else if (sub === 0xe6 || sub === 0xf2) classes.push(['vector_muls', 1]);
  else if (sub === 0xe4 || sub === 0xe5 || sub === 0xf0 || sub === 0xf1) classes.push(['vector_adds', 1]);
  else if (sub <= 0x113) classes.push(['vector_other', 1]);
  else throw new Error(`wasm count: SIMD instruction 0xfd ${sub} is not one the kernels use`);
}

interface Section {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

function sections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.uleb();
    out.push({ id, start: r.at, end: r.at + size });
    r.at += size;
  }
  return out;
}

/** A straight-line run of one function: where its counter goes and what one pass through it executes. */
interface Run {
  readonly at: number;
  readonly counts: Readonly<Record<string, number>>;
}

function functionRuns(bytes: Uint8Array, bodyStart: number, bodyEnd: number): { codeStart: number; runs: Run[] } {
  const r = new Reader(bytes, bodyStart);
  const groups = r.uleb();
  for (let i = 0; i < groups; i++) {
    r.uleb();
    r.skip(1);
  }
  const codeStart = r.at;
  const runs: Run[] = [];
  let current: Record<string, number> | undefined;
  while (r.at < bodyEnd) {
    const start = r.at;
    const insn = decodeInsn(r, r.byte(), start);
    if (!current) {
      current = {};
      runs.push({ at: start, counts: current });
    }
    for (const [k, v] of insn.classes) current[k] = (current[k] ?? 0) + v;
    if (insn.splits) current = undefined;
  }
  return { codeStart, runs };
}

export interface CountingBuild {
  /** The instrumented module's bytes. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Per counter (exported as `__count_<i>`), the static counts of its run. */
  readonly runs: readonly Readonly<Record<string, number>>[];
}

const COUNTER_PREFIX = '__count_';

/**
 * Builds the counting build of a module written by encodeModule: a global section of zeroed
 * mutable i64 counters, their exports, and `global.get/i64.const 1/i64.add/global.set` at the head
 * of every run (stack-neutral, so valid wherever it lands).
 */
export function countingBuild(bytes: Uint8Array): CountingBuild {
  const secs = sections(bytes);
  if (secs.some((s) => s.id === 6)) throw new Error('wasm count: the module already has globals (encodeModule writes none)');
  const code = secs.find((s) => s.id === 10);
  const exportSec = secs.find((s) => s.id === 7);
  if (!code || !exportSec) throw new Error('wasm count: the module has no code or export section');
  const r = new Reader(bytes, code.start);
  const nFuncs = r.uleb();
  const allRuns: Run[][] = [];
  const bodies: { start: number; end: number; codeStart: number }[] = [];
  for (let i = 0; i < nFuncs; i++) {
    const size = r.uleb();
    const start = r.at;
    const { codeStart, runs } = functionRuns(bytes, start, start + size);
    allRuns.push(runs);
    bodies.push({ start, end: start + size, codeStart });
    r.at = start + size;
  }
  const flat = allRuns.flat();
  // Globals imported by the module come first in the index space; encodeModule imports none.
  let counter = 0;
  const newBodies = bodies.map((b, f) => {
    const out: number[] = [];
    for (let i = b.start; i < b.codeStart; i++) out.push(bytes[i]!);
    let at = b.codeStart;
    for (const run of allRuns[f]!) {
      for (; at < run.at; at++) out.push(bytes[at]!);
      const g = uleb(counter++);
      out.push(0x23, ...g, 0x42, 0x01, 0x7c, 0x24, ...g);
    }
    for (; at < b.end; at++) out.push(bytes[at]!);
    const entry = uleb(out.length);
    append(entry, out);
    return entry;
  });
  const globals: number[] = [...uleb(flat.length)];
  for (let i = 0; i < flat.length; i++) globals.push(0x7e, 0x01, 0x42, 0x00, 0x0b);
  const er = new Reader(bytes, exportSec.start);
  const nExports = er.uleb();
  const exportsBody: number[] = [...uleb(nExports + flat.length)];
  for (let i = er.at; i < exportSec.end; i++) exportsBody.push(bytes[i]!);
  for (let i = 0; i < flat.length; i++) {
    const name = new TextEncoder().encode(`${COUNTER_PREFIX}${i}`);
    exportsBody.push(...uleb(name.length), ...name, 0x03, ...uleb(i));
  }
  const codeBody = uleb(nFuncs);
  for (const b of newBodies) append(codeBody, b);
  const out: number[] = [];
  append(out, bytes.subarray(0, 8));
  const put = (id: number, content: ArrayLike<number>) => {
    out.push(id);
    append(out, uleb(content.length));
    append(out, content);
  };
  for (const s of secs) {
    if (s.id === 7) {
      put(6, globals);
      put(7, exportsBody);
    } else if (s.id === 10) put(10, codeBody);
    else put(s.id, bytes.subarray(s.start, s.end));
  }
  return { bytes: new Uint8Array(out), runs: flat.map((r) => r.counts) };
}

/** Reads the counters of an instantiated counting build: executed operations by class. */
export function readCounts(build: CountingBuild, exports: WebAssembly.Exports): OperationCounts {
  return executedCounts(OPERATION_CLASSES, build.runs, (i) => Number((exports[`${COUNTER_PREFIX}${i}`] as WebAssembly.Global).value as bigint));
}
