/**
 * The WebGPU backend's exact lane: the counting build of a WGSL kernel. The same module with one
 * more storage buffer of 64-bit counters (pairs of u32 atomics: low word, carry into the high
 * word) and a counter bumped at the head of every straight-line region of every function (the
 * function's body, each loop body, each branch of an `if`, the code after each nested block); the
 * rest of the source is the code that is timed, byte for byte. Each region's operations are
 * classified once, statically, from its tokens: storage and workgroup loads and stores with their
 * bytes (from the element type each buffer is declared with), arithmetic operators and `fma`,
 * comparisons, branches and loop tests, barriers, calls; the entry points' first regions count the
 * invocations. Executed operations = Σ regions (times entered × static counts), plus the
 * dispatches and workgroups the description's passes and chunks give: exact, and the same on every
 * GPU and in every run, since NeoCell kernels branch on no data.
 *
 * WGSL types are not inferred: an operator counts once whatever its operands (a vec4 addition is one
 * arithmetic operation, an index computation counts like a float one). The test of an `else if`
 * is counted in the branch it guards (no statement can be put before it).
 */
import { packWeights } from '../../core/structure.js';
import { executedCounts } from '../../harness/executed.js';
import type { KernelDescription, OperationCounts, ProblemData } from '../../harness/types.js';
import type { GpuHostSession } from './device-session.js';
import { type CounterBinding, freeBinding, type GpuContext, GpuKernel, type GpuKernelSpec, wgslSpec } from './instance.js';

/** The classes counted for WGSL kernels, in the order reports list them. */
export const WGSL_OPERATION_CLASSES = [
  'dispatches',
  'workgroups',
  'invocations',
  'arith_ops',
  'fmas',
  'compares',
  'storage_loads',
  'storage_load_bytes',
  'storage_stores',
  'storage_store_bytes',
  'workgroup_loads',
  'workgroup_load_bytes',
  'workgroup_stores',
  'workgroup_store_bytes',
  'branches',
  'barriers',
  'calls',
] as const;

/** The counters' storage buffer in a counting build. */
export const COUNTER_BUFFER = 'neotune_counts';

export interface WgslCountingBuild {
  /** The instrumented module: the counters bound at `binding` of group 0. */
  readonly source: string;
  readonly binding: number;
  /** Per region (counter pair 2i, 2i+1), its static counts. */
  readonly regions: readonly Readonly<Record<string, number>>[];
}

const TOKEN =
  /\s+|[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[iu]?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fhiu]?|<<=|>>=|\+\+|--|&&|\|\||<<|>>|<=|>=|==|!=|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|->|[-+*/%<>=!&|^~()[\]{},;:.@]/y;

interface Token {
  readonly text: string;
  /** Offset in the source of the first character after the token. */
  readonly end: number;
}

function tokenize(source: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) throw new Error(`counting build: WGSL the counter cannot read at offset ${at}: ${JSON.stringify(source.slice(at, at + 20))}`);
    if (!/^\s/.test(m[0])) out.push({ text: m[0], end: TOKEN.lastIndex });
  }
  return out;
}

/** Comments blanked out, every offset kept. */
const withoutComments = (s: string) => s.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));

const SCALAR_BYTES: Readonly<Record<string, number>> = { f32: 4, i32: 4, u32: 4, f16: 2 };

/** Bytes of the element of an array type as declared ("array<vec4<f32>>", "array<f32, 256>", "array<array<f16, 4>, 8>"). */
function elementBytes(type: string): number {
  const m = /\bvec([234])<(f32|f16|i32|u32)>|\bvec([234])([fhiu])\b|\b(f32|f16|i32|u32)\b/.exec(type);
  if (!m) return 4;
  if (m[1]) return Number(m[1]) * SCALAR_BYTES[m[2]!]!;
  if (m[3]) return Number(m[3]) * (m[4] === 'h' ? 2 : 4);
  return SCALAR_BYTES[m[5]!]!;
}

interface Buffer {
  readonly space: 'storage' | 'workgroup';
  readonly bytes: number;
}

/** Module-scope storage and workgroup variables: name → address space and element bytes. */
function buffersOf(source: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const m of source.matchAll(/var<(storage|workgroup)[^>]*>\s+(\w+)\s*:\s*([^;]+);/g)) out.set(m[2]!, { space: m[1] as Buffer['space'], bytes: elementBytes(m[3]!) });
  return out;
}

/** Tokens with type generics (vec4<f32>, array<f32, 8>, ptr<…>) folded into one name, so `<` and `>` left are comparisons. */
function foldTypes(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (/^(vec[234]|mat[234]x[234]|array|atomic|ptr|bitcast)$/.test(t.text) && tokens[i + 1]?.text === '<') {
      let depth = 0;
      let j = i + 1;
      for (; j < tokens.length; j++) {
        if (tokens[j]!.text === '<') depth++;
        else if (tokens[j]!.text === '>') depth--;
        else if (tokens[j]!.text === '>>') depth -= 2;
        if (depth <= 0) break;
      }
      out.push({ text: 'TYPE', end: tokens[j]!.end });
      i = j;
    } else out.push(t);
  }
  return out;
}

const ARITH = new Set(['+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
const COMPARE = new Set(['<', '>', '<=', '>=', '==', '!=']);
const ASSIGN = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
const BARRIERS = new Set(['workgroupBarrier', 'storageBarrier', 'textureBarrier']);
const KEYWORDS = new Set(['return', 'let', 'var', 'const', 'if', 'else', 'for', 'while', 'loop']);
const isOperand = (t: string | undefined) => t !== undefined && !KEYWORDS.has(t) && (/^[\w.]/.test(t) || t === ')' || t === ']');

/** Adds the operations of `tokens` (straight-line code, whole statements or a header's part) to `into`. */
function classify(tokens: readonly Token[], buffers: ReadonlyMap<string, Buffer>, functions: ReadonlySet<string>, into: Record<string, number>): void {
  const add = (k: string, n = 1) => (into[k] = (into[k] ?? 0) + n);
  const access = (name: string, store: boolean) => {
    const b = buffers.get(name)!;
    add(`${b.space}_${store ? 'stores' : 'loads'}`);
    add(`${b.space}_${store ? 'store' : 'load'}_bytes`, b.bytes);
  };
  let statementStart = true;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!.text;
    const next = tokens[i + 1]?.text;
    if (t === ';') {
      statementStart = true;
      continue;
    }
    const atStart = statementStart;
    statementStart = false;
    if (buffers.has(t) && next === '[') {
      // A store when the statement starts with the element and assigns it; a compound assignment also loads it.
      let depth = 0;
      let j = i + 1;
      for (; j < tokens.length; j++) {
        if (tokens[j]!.text === '[') depth++;
        else if (tokens[j]!.text === ']' && --depth === 0) break;
      }
      const op = tokens[j + 1]?.text;
      if (atStart && op !== undefined && ASSIGN.has(op)) {
        access(t, true);
        if (op !== '=') access(t, false);
      } else access(t, false);
    } else if (t === 'fma' && next === '(') add('fmas');
    else if (BARRIERS.has(t) && next === '(') add('barriers');
    else if (functions.has(t) && next === '(') add('calls');
    else if (t === 'if') add('branches');
    else if (COMPARE.has(t)) add('compares');
    else if (ARITH.has(t)) {
      // + and - are unary after an operator or an opening bracket.
      if ((t === '+' || t === '-') && !isOperand(tokens[i - 1]?.text)) continue;
      add('arith_ops');
    }
  }
}

/** The matching closing bracket of the opening one at `i`. */
function matching(tokens: readonly Token[], i: number): number {
  const open = tokens[i]!.text;
  const close = open === '(' ? ')' : open === '[' ? ']' : '}';
  let depth = 0;
  for (let j = i; j < tokens.length; j++) {
    if (tokens[j]!.text === open) depth++;
    else if (tokens[j]!.text === close && --depth === 0) return j;
  }
  throw new Error(`counting build: unbalanced "${open}" in the WGSL`);
}

/**
 * The counting build of a WGSL module; `binding` is the first binding of group 0 the kernel leaves
 * free. Throws on constructs it does not count (switch, continuing) rather than count them wrong.
 */
export function wgslCountingBuild(source: string, binding: number): WgslCountingBuild {
  const clean = withoutComments(source);
  const tokens = foldTypes(tokenize(clean));
  const buffers = buffersOf(clean);
  const functions = new Set<string>();
  for (let i = 0; i + 1 < tokens.length; i++) if (tokens[i]!.text === 'fn') functions.add(tokens[i + 1]!.text);
  const regions: Record<string, number>[] = [];
  const inserts: number[] = [];
  const open = (at: number, entry = false) => {
    inserts.push(at);
    regions.push(entry ? { invocations: 1 } : {});
    return regions[regions.length - 1]!;
  };
  for (let f = 0; f < tokens.length; f++) {
    if (tokens[f]!.text !== 'fn') continue;
    // An entry point: `@compute` among the attributes before `fn` (back to the previous declaration).
    let entry = false;
    for (let a = f - 1; a >= 0 && !/^[;}]$/.test(tokens[a]!.text); a--) if (tokens[a]!.text === 'compute' && tokens[a - 1]?.text === '@') entry = true;
    const params = tokens.findIndex((t, i) => i > f && t.text === '(');
    let body = matching(tokens, params) + 1;
    while (tokens[body]!.text !== '{') body++;
    const end = matching(tokens, body);
    // Walk the body: `current` is the region straight-line code belongs to (none between `}` and `else`).
    let current: Record<string, number> | undefined = open(tokens[body]!.end, entry);
    let from = body + 1;
    const stack: number[] = [body];
    for (let i = body + 1; i <= end; i++) {
      const t = tokens[i]!.text;
      if (t === 'switch' || t === 'continuing') throw new Error(`counting build: WGSL "${t}" is not counted (offset ${tokens[i]!.end})`);
      if (t === '{') {
        // What opens the block: a loop or branch header at the end of the code since `from`.
        const code = tokens.slice(from, i);
        let header: Token[] = [];
        let keyword = '';
        if (code.at(-1)?.text === ')') {
          let lp = code.length - 1;
          for (let depth = 0; lp >= 0; lp--) {
            if (code[lp]!.text === ')') depth++;
            else if (code[lp]!.text === '(' && --depth === 0) break;
          }
          keyword = code[lp - 1]?.text ?? '';
          header = code.slice(lp + 1, -1);
          code.length = lp - 1;
        } else if (code.at(-1)?.text === 'else' || code.at(-1)?.text === 'loop') {
          keyword = code.at(-1)!.text;
          code.length -= 1;
        }
        const elseIf = keyword === 'if' && code.at(-1)?.text === 'else';
        if (elseIf) code.length -= 1;
        if (current) classify(code, buffers, functions, current);
        const inner = open(tokens[i]!.end);
        if (keyword === 'for') {
          // for (init; test; update): init once, before the loop; the test and the update per iteration.
          const semis = header.flatMap((x, k) => (x.text === ';' ? [k] : []));
          if (current) classify(header.slice(0, semis[0]), buffers, functions, current);
          inner.branches = (inner.branches ?? 0) + 1;
          classify(header.slice(semis[0]! + 1).map((x) => (x.text === ';' ? { ...x, text: ',' } : x)), buffers, functions, inner);
        } else if (keyword === 'while') {
          inner.branches = (inner.branches ?? 0) + 1;
          classify(header, buffers, functions, inner);
        } else if (keyword === 'if') {
          const into = elseIf || !current ? inner : current;
          into.branches = (into.branches ?? 0) + 1;
          classify(header, buffers, functions, into);
        }
        current = inner;
        stack.push(i);
        from = i + 1;
      } else if (t === '}') {
        if (current) classify(tokens.slice(from, i), buffers, functions, current);
        stack.pop();
        from = i + 1;
        if (stack.length === 0) break;
        // The code after a nested block is a region of its own, unless an `else` follows.
        current = tokens[i + 1]?.text === 'else' ? undefined : open(tokens[i]!.end);
      }
    }
    f = end;
  }
  // Inserted from the end, so earlier offsets stay valid; the declaration after the directives (enable f16;).
  let out = source;
  const bump = (k: number) => `atomicAdd(&${COUNTER_BUFFER}[${2 * k + 1}], select(0u, 1u, atomicAdd(&${COUNTER_BUFFER}[${2 * k}], 1u) == 4294967295u));`;
  for (let k = inserts.length - 1; k >= 0; k--) out = `${out.slice(0, inserts[k])} ${bump(k)}${out.slice(inserts[k])}`;
  const directives = /^(?:\s*(?:\/\/[^\n]*|(?:enable|requires|diagnostic)\b[^;]*;))*/.exec(out)![0].length;
  out = `${out.slice(0, directives)}\n@group(0) @binding(${binding}) var<storage, read_write> ${COUNTER_BUFFER}: array<atomic<u32>>;\n${out.slice(directives)}`;
  return { source: out, binding, regions };
}

/** Executed operations by class from the counters (pairs of u32: low, high) of a counting build, plus the dispatches and workgroups of one call. */
export function wgslCounts(build: WgslCountingBuild, counters: Uint32Array, spec: GpuKernelSpec): OperationCounts {
  const totals = { ...executedCounts(WGSL_OPERATION_CLASSES, build.regions, (i) => counters[2 * i]! + counters[2 * i + 1]! * 2 ** 32) };
  const passes = spec.passes ?? [{ dispatch: spec.dispatch! }];
  const chunks = spec.chunks ?? 1;
  totals.dispatches = passes.length * chunks;
  totals.workgroups = passes.reduce((s, p) => s + p.dispatch[0] * p.dispatch[1] * p.dispatch[2], 0) * chunks;
  return totals;
}

/** A host's kernel, enough of it to run a counting build once and read its counters back. */
export interface CountingKernel {
  prepare(data: ProblemData): void | Promise<void>;
  run(): void | Promise<void>;
  readCounters(): Promise<Uint32Array>;
  dispose(): void | Promise<void>;
}

/**
 * The operations one call of `spec` executes on `data`, by class: its counting build made here,
 * compiled by the host (`create`: a device in this process, or a page), run once, its counters read.
 */
export async function countWgsl(spec: GpuKernelSpec, data: ProblemData, create: (counting: GpuKernelSpec, counters: CounterBinding) => Promise<CountingKernel>): Promise<OperationCounts> {
  const binding = freeBinding(spec);
  const build = wgslCountingBuild(spec.source, binding);
  const kernel = await create({ ...spec, name: `${spec.name} (counting build)`, source: build.source }, { binding, words: 2 * build.regions.length });
  try {
    await kernel.prepare(data);
    await kernel.run();
    return wgslCounts(build, await kernel.readCounters(), spec);
  } finally {
    await kernel.dispose();
  }
}

/** Runs the counting build of `spec` once on `data` on `gpu`: the operations one call executes, by class. */
export function countGpuKernel(gpu: GpuContext, spec: GpuKernelSpec, data: ProblemData): Promise<OperationCounts> {
  return countWgsl(spec, data, (counting, counters) => GpuKernel.create(gpu, counting, (d) => packWeights(spec.weights, d), counters));
}

/** `session` with the exact lane: countOperations runs a description's counting build on the session's current device. */
export function withCounting<S extends GpuHostSession & { readonly gpu: GpuContext }>(session: S): S {
  return Object.assign(session, { countOperations: (description: KernelDescription, data: ProblemData) => countGpuKernel(session.gpu, wgslSpec(description), data) });
}
