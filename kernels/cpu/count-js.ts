/**
 * The counting build of a generated JavaScript kernel part: the same source with a counter bumped
 * at the head of every straight-line region (the part's top level, each loop body, each branch of
 * an `if`), parsed with acorn and edited by position, so everything else is byte for byte the code
 * that is timed. Each region's operations are classified once, statically, from its syntax tree:
 * float multiplies and adds (arithmetic outside an index), index arithmetic, element loads and
 * stores (4 bytes each: every array a kernel touches is a Float32Array), loop tests and branches,
 * calls. Executed operations by class = Σ regions (times entered × static counts): exact and the
 * same on every machine and in every run.
 */
import { parse, type Node } from 'acorn';
import { executedCounts } from '../../harness/executed.js';
import type { OperationCounts } from '../../harness/types.js';

/** The classes counted for JavaScript kernels, in the order reports list them. */
export const JS_OPERATION_CLASSES = ['float_muls', 'float_adds', 'index_ops', 'loads', 'load_bytes', 'stores', 'store_bytes', 'compares', 'branches', 'calls'] as const;

interface AnyNode extends Node {
  readonly [key: string]: unknown;
}

const isNode = (v: unknown): v is AnyNode => typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
const LOOPS = new Set(['ForStatement', 'WhileStatement', 'DoWhileStatement', 'ForOfStatement', 'ForInStatement']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%']);

export interface JsCountingPart {
  /** The instrumented source; it reads its counters from the extra argument `counterArg`. */
  readonly source: string;
  /** Per counter index, the static counts of its region. */
  readonly regions: readonly Readonly<Record<string, number>>[];
}

/** The name of the extra argument the instrumented parts take: a Float64Array of counters. */
export const COUNTER_ARG = '__neotuneCounts';

/**
 * Instruments one kernel part (a function body over x, y, scratch, wa, wb, dw). Regions are
 * numbered from `first`, so several parts share one counter array.
 */
export function countingPart(source: string, first: number): JsCountingPart {
  const program = parse(source, { ecmaVersion: 2022, sourceType: 'script', allowReturnOutsideFunction: true }) as unknown as AnyNode;
  const regions: Record<string, number>[] = [];
  const inserts: { at: number; text: string }[] = [];
  const add = (region: Record<string, number>, k: string, v = 1) => (region[k] = (region[k] ?? 0) + v);

  /** Opens a region whose code starts at `body` (a block or a single statement) and walks it. */
  const openRegion = (body: AnyNode): Record<string, number> => {
    const region: Record<string, number> = {};
    const index = first + regions.length;
    regions.push(region);
    const bump = `${COUNTER_ARG}[${index}]++;`;
    if (body.type === 'BlockStatement') inserts.push({ at: body.start + 1, text: ` ${bump}` });
    else {
      inserts.push({ at: body.start, text: `{ ${bump} ` });
      inserts.push({ at: body.end, text: ' }' });
    }
    return region;
  };

  /** Classifies `node` into `region`; nested loop bodies and branches get regions of their own. `index`: inside an element index. */
  const walk = (node: AnyNode, region: Record<string, number>, index: boolean): void => {
    if (LOOPS.has(node.type)) {
      // Init runs once where the loop stands; the test runs once more than the body (its last, failing, time here).
      if (isNode(node.init)) walk(node.init, region, false);
      const body = openRegion(node.body as AnyNode);
      if (isNode(node.test)) {
        walk(node.test, region, false);
        walk(node.test, body, false);
        add(region, 'branches');
        add(body, 'branches');
      }
      if (isNode(node.update)) walk(node.update, body, false);
      if (isNode(node.right)) walk(node.right, region, false);
      walk(node.body as AnyNode, body, false);
      return;
    }
    if (node.type === 'IfStatement') {
      walk(node.test as AnyNode, region, false);
      add(region, 'branches');
      walk(node.consequent as AnyNode, openRegion(node.consequent as AnyNode), false);
      if (isNode(node.alternate)) walk(node.alternate, openRegion(node.alternate), false);
      return;
    }
    if (node.type === 'BinaryExpression') {
      const op = node.operator as string;
      if (ARITHMETIC.has(op)) add(region, index ? 'index_ops' : op === '*' || op === '/' || op === '%' ? 'float_muls' : 'float_adds');
      else add(region, 'compares');
    } else if (node.type === 'UpdateExpression' || (node.type === 'AssignmentExpression' && node.operator !== '=')) add(region, 'index_ops');
    else if (node.type === 'CallExpression' || node.type === 'NewExpression') add(region, 'calls');
    if (node.type === 'AssignmentExpression' && isNode(node.left) && node.left.type === 'MemberExpression' && node.left.computed) {
      add(region, 'stores');
      add(region, 'store_bytes', 4);
      walk(node.left.object as AnyNode, region, index);
      walk(node.left.property as AnyNode, region, true);
      walk(node.right as AnyNode, region, index);
      return;
    }
    if (node.type === 'MemberExpression' && node.computed) {
      add(region, 'loads');
      add(region, 'load_bytes', 4);
      walk(node.object as AnyNode, region, index);
      walk(node.property as AnyNode, region, true);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'type' || key === 'start' || key === 'end') continue;
      if (Array.isArray(value)) for (const v of value) isNode(v) && walk(v, region, index);
      else if (isNode(value)) walk(value, region, index);
    }
  };

  const top: Record<string, number> = {};
  regions.push(top);
  inserts.push({ at: 0, text: `${COUNTER_ARG}[${first}]++;\n` });
  for (const statement of program.body as AnyNode[]) walk(statement, top, false);
  // Insert from the end so earlier positions stay valid; at one position, the later-pushed text goes inside.
  const ordered = inserts.map((x, i) => ({ ...x, i })).sort((a, b) => b.at - a.at || b.i - a.i);
  let out = source;
  for (const x of ordered) out = out.slice(0, x.at) + x.text + out.slice(x.at);
  return { source: out, regions };
}

/** Executed operations by class from the counters and their regions. */
export function jsCounts(regions: readonly Readonly<Record<string, number>>[], counters: Float64Array): OperationCounts {
  return executedCounts(JS_OPERATION_CLASSES, regions, (i) => counters[i]!);
}
