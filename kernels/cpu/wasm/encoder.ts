/**
 * A minimal WebAssembly binary encoder for generated kernels: one imported shared memory, functions
 * over i32/f32/v128 and the SIMD (and relaxed-SIMD) instructions the kernels use. Every emitted
 * instruction is also written as a line of text (WAT-like): that listing is the kernel's `source`,
 * hashed into results, and readable when a kernel misbehaves.
 *
 * Emitting the binary directly keeps the run-time code generator dependency-free and fast (binaryen
 * would add 10 MB for a few hundred instructions per kernel). Opcodes: WebAssembly core spec 2.0 and
 * the relaxed-SIMD proposal (f32x4.relaxed_madd = 0xfd 0x105).
 */

export type ValType = 'i32' | 'f32' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** dst.push(...src) without spreading (large arrays would overflow the call stack) or an iterator (slow). */
export function append(dst: number[], src: ArrayLike<number>): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]!);
}

export function uleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`wasm encoder: unsigned LEB128 of ${n}`);
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new Error(`wasm encoder: i32 constant ${n}`);
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** A function body under construction. Locals are declared by name; params come first. */
export class FunctionBuilder {
  readonly code: number[] = [];
  readonly text: string[] = [];
  private readonly locals = new Map<string, { index: number; type: ValType }>();
  private readonly extraLocals: ValType[] = [];
  private depth = 1;
  /**
   * How constant address offsets are emitted: in the memarg (`memarg`), or added to the pointer
   * with i32.add (`add`). V8 turns every distinct memarg offset in a loop into its own hoisted base
   * register, which spills when there are many; `add` costs an ALU op per access instead.
   */
  offsets: 'memarg' | 'add' = 'memarg';

  constructor(
    readonly name: string,
    readonly params: readonly (readonly [string, ValType])[],
    readonly result?: ValType,
  ) {
    params.forEach(([n, t], i) => this.locals.set(n, { index: i, type: t }));
  }

  /** Declares (or returns) a local by name. */
  local(name: string, type: ValType): string {
    const existing = this.locals.get(name);
    if (existing) {
      if (existing.type !== type) throw new Error(`wasm encoder: local ${name} is ${existing.type}, not ${type}`);
      return name;
    }
    this.locals.set(name, { index: this.params.length + this.extraLocals.length, type });
    this.extraLocals.push(type);
    return name;
  }

  private index(name: string): number {
    const l = this.locals.get(name);
    if (!l) throw new Error(`wasm encoder: unknown local ${name} in ${this.name}`);
    return l.index;
  }

  private emit(text: string, ...bytes: number[]): this {
    append(this.code, bytes);
    this.text.push('  '.repeat(this.depth) + text);
    return this;
  }

  private simd(text: string, op: number, memarg?: { align: number; offset: number }, lane?: number): this {
    const bytes = [0xfd];
    uleb(op, bytes);
    if (memarg) {
      uleb(memarg.align, bytes);
      uleb(memarg.offset, bytes);
    }
    if (lane !== undefined) bytes.push(lane);
    return this.emit(text, ...bytes);
  }

  get(name: string): this {
    const b: number[] = [0x20];
    uleb(this.index(name), b);
    return this.emit(`local.get $${name}`, ...b);
  }
  set(name: string): this {
    const b: number[] = [0x21];
    uleb(this.index(name), b);
    return this.emit(`local.set $${name}`, ...b);
  }
  tee(name: string): this {
    const b: number[] = [0x22];
    uleb(this.index(name), b);
    return this.emit(`local.tee $${name}`, ...b);
  }
  i32(value: number): this {
    const b: number[] = [0x41];
    sleb(value, b);
    return this.emit(`i32.const ${value}`, ...b);
  }
  i32Add(): this {
    return this.emit('i32.add', 0x6a);
  }
  i32Mul(): this {
    return this.emit('i32.mul', 0x6c);
  }
  i32LtS(): this {
    return this.emit('i32.lt_s', 0x48);
  }
  /** Pushes local + constant (constant folded away when zero). */
  addr(name: string, constant: number): this {
    this.get(name);
    if (constant !== 0) this.i32(constant).i32Add();
    return this;
  }
  /** Pushes the address `local + offset` and returns the memarg offset to use with it. */
  ptr(name: string, offset: number): number {
    this.get(name);
    if (this.offsets === 'memarg' || offset === 0) return offset;
    this.i32(offset).i32Add();
    return 0;
  }
  /** local += step */
  increment(name: string, step: number): this {
    return this.get(name).i32(step).i32Add().set(name);
  }

  f32Const(value: number): this {
    const b = [0x43, ...new Uint8Array(new Float32Array([value]).buffer)];
    return this.emit(`f32.const ${value}`, ...b);
  }
  /** memory.copy (bulk memory): pops destination, source and length in bytes. */
  memoryCopy(): this {
    return this.emit('memory.copy', 0xfc, 0x0a, 0x00, 0x00);
  }
  f32Load(offset = 0): this {
    const b = [0x2a];
    uleb(2, b);
    uleb(offset, b);
    return this.emit(`f32.load offset=${offset}`, ...b);
  }
  f32Store(offset = 0): this {
    const b = [0x38];
    uleb(2, b);
    uleb(offset, b);
    return this.emit(`f32.store offset=${offset}`, ...b);
  }
  f32Add(): this {
    return this.emit('f32.add', 0x92);
  }
  f32Mul(): this {
    return this.emit('f32.mul', 0x94);
  }

  /** Unaligned 128-bit load (alignment hint 1 byte: kernels load at any float offset). */
  v128Load(offset = 0): this {
    return this.simd(`v128.load offset=${offset}`, 0x00, { align: 0, offset });
  }
  v128Store(offset = 0): this {
    return this.simd(`v128.store offset=${offset}`, 0x0b, { align: 0, offset });
  }
  v128Load32Splat(offset = 0): this {
    return this.simd(`v128.load32_splat offset=${offset}`, 0x09, { align: 0, offset });
  }
  v128Store32Lane(lane: number, offset = 0): this {
    return this.simd(`v128.store32_lane offset=${offset} ${lane}`, 0x5a, { align: 0, offset }, lane);
  }
  v128Store64Lane(lane: number, offset = 0): this {
    return this.simd(`v128.store64_lane offset=${offset} ${lane}`, 0x5b, { align: 0, offset }, lane);
  }
  v128Zero(): this {
    return this.simd('v128.const 0', 0x0c).raw(new Array<number>(16).fill(0));
  }
  /** Two v128 a, b on the stack → [lanes[0], …, lanes[3]] of the float lanes a0…a3 (0–3), b0…b3 (4–7) (i8x16.shuffle). */
  f32x4Shuffle(lanes: readonly [number, number, number, number]): this {
    const bytes = lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
    return this.simd(`i8x16.shuffle ${bytes.join(' ')}`, 0x0d).raw(bytes);
  }
  /** Two v128 on the stack → lane `lane` (0–3) of the first, in every lane (engines emit one pshufd/vshufps). */
  f32x4SplatLane(lane: number): this {
    return this.f32x4Shuffle([lane, lane, lane, lane]);
  }
  f32x4Splat(): this {
    return this.simd('f32x4.splat', 0x13);
  }
  f32x4Add(): this {
    return this.simd('f32x4.add', 0xe4);
  }
  f32x4Sub(): this {
    return this.simd('f32x4.sub', 0xe5);
  }
  f32x4Mul(): this {
    return this.simd('f32x4.mul', 0xe6);
  }
  /** a·b + c with one rounding or two, the engine's choice (relaxed-SIMD). */
  f32x4RelaxedMadd(): this {
    return this.simd('f32x4.relaxed_madd', 0x105);
  }

  /** `block $label loop $label` … `br_if` … `end end`: a counted loop helper's open half. */
  blockStart(label: string): this {
    this.emit(`block $${label}`, 0x02, 0x40);
    this.depth++;
    return this;
  }
  loopStart(label: string): this {
    this.emit(`loop $${label}`, 0x03, 0x40);
    this.depth++;
    return this;
  }
  end(): this {
    this.depth--;
    return this.emit('end', 0x0b);
  }
  /** Branch to an enclosing block/loop `relDepth` levels out (0 = innermost) if the i32 on the stack ≠ 0. */
  brIf(relDepth: number): this {
    const b = [0x0d];
    uleb(relDepth, b);
    return this.emit(`br_if ${relDepth}`, ...b);
  }

  /** A position in the body where instructions can be inserted later (see insertAt). */
  mark(): { readonly code: number; readonly text: number } {
    return { code: this.code.length, text: this.text.length };
  }

  /**
   * Emits `emit`'s instructions at an earlier mark (stack-neutral code only). Used to hoist loads
   * whose set is known only after the body is generated. Marks after `at` are invalidated.
   */
  insertAt(at: { readonly code: number; readonly text: number }, emit: () => void): void {
    const code = this.code.splice(at.code);
    const text = this.text.splice(at.text);
    emit();
    append(this.code, code);
    for (const t of text) this.text.push(t);
  }

  private raw(bytes: number[]): this {
    append(this.code, bytes);
    return this;
  }

  /**
   * for (name = from; name < to; name += step) body — `to` may be a local name or a constant.
   * Emitted as do-while guarded by the first test, so a loop whose bounds are constants and known
   * to run at least once costs one compare per iteration.
   */
  forLoop(name: string, from: number | string, to: number | string, step: number, body: () => void): this {
    this.local(name, 'i32');
    const push = (v: number | string) => (typeof v === 'number' ? this.i32(v) : this.get(v));
    push(from).set(name);
    this.blockStart(`${name}_exit`);
    this.get(name);
    push(to);
    this.i32LtS().emit('i32.eqz', 0x45).brIf(0);
    this.loopStart(`${name}_loop`);
    body();
    this.increment(name, step);
    this.get(name);
    push(to);
    this.i32LtS().brIf(0);
    this.end().end();
    return this;
  }

  /** The function's code-section entry: size, local declarations, body, end. */
  encode(): Uint8Array {
    const head: number[] = [];
    // Run-length encode consecutive locals of the same type.
    const runs: [number, ValType][] = [];
    for (const t of this.extraLocals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(runs.length, head);
    for (const [n, t] of runs) {
      uleb(n, head);
      head.push(VALTYPE[t]);
    }
    const bodyLength = head.length + this.code.length + 1;
    const size: number[] = [];
    uleb(bodyLength, size);
    // One typed array filled by native copies: pushing a large kernel's bytes one by one through
    // several arrays dominated the generation time.
    return concatBytes([size, head, this.code, [0x0b]]);
  }

  listing(): string {
    const sig = this.params.map(([n, t]) => `(param $${n} ${t})`).join(' ');
    const res = this.result ? ` (result ${this.result})` : '';
    return `(func $${this.name} ${sig}${res}\n${this.text.join('\n')})`;
  }
}

function concatBytes(parts: readonly (readonly number[] | Uint8Array)[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function section(id: number, content: readonly number[] | Uint8Array, out: (readonly number[] | Uint8Array)[]): void {
  const head = [id];
  uleb(content.length, head);
  out.push(head, content);
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  append(out, bytes);
}

/**
 * A module importing `env.memory` (`pages` 64 KiB pages; shared when worker threads run the same
 * kernel on it) and exporting every function under its name. A single-threaded kernel's memory is
 * not shared: copying an input into shared memory costs V8 about 4× a plain copy (element-wise
 * relaxed-atomic copies), which would be most of the runtime's per-call overhead on small layers.
 */
export function encodeModule(functions: readonly FunctionBuilder[], pages: number, shared: boolean): { bytes: Uint8Array<ArrayBuffer>; text: string } {
  const out: (readonly number[] | Uint8Array)[] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
  const types: number[] = [];
  uleb(functions.length, types);
  for (const f of functions) {
    types.push(0x60);
    uleb(f.params.length, types);
    for (const [, t] of f.params) types.push(VALTYPE[t]);
    if (f.result) types.push(1, VALTYPE[f.result]);
    else types.push(0);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  imports.push(0x02, shared ? 0x03 : 0x01); // memory, limits flag: 1 = min + max, 3 = min + max + shared
  uleb(pages, imports);
  uleb(pages, imports);
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(functions.length, funcs);
  functions.forEach((_, i) => uleb(i, funcs));
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(functions.length, exports);
  functions.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const count: number[] = [];
  uleb(functions.length, count);
  section(10, concatBytes([count, ...functions.map((f) => f.encode())]), out);
  return {
    bytes: concatBytes(out),
    text: `(module (import "env" "memory" (memory ${pages} ${pages}${shared ? ' shared' : ''}))\n${functions.map((f) => f.listing()).join('\n')})`,
  };
}
