/**
 * One worker part's calls as a function of its own. A worker runs the parts of every kernel of
 * the session through one call site; the first time it meets a second kernel that site turns
 * polymorphic, V8 stops inlining the JS-to-WebAssembly wrapper there, and every later call of
 * every kernel pays about 0.3 µs more (the 2-thread speed canary, a 2-3 µs copy, then reads 11-15 %
 * slower than it did before the first kernel ran, for the rest of the process, and the first
 * kernel tuned in a process was timed with a cheaper dispatch than the others). A function
 * compiled for each kernel keeps its call sites monomorphic: the cost is the same for every
 * kernel, first or not.
 *
 * Node's workers only: a page may forbid compiling code from strings (CSP), and its pool has no
 * speed canary to distort.
 */
import type { WasmCall } from './threads.js';

type Exports = Record<string, unknown>;

/** A function that makes `calls` in order on `exports` (each function looked up once, here). */
export function callSequence(exports: Exports, calls: readonly WasmCall[]): () => void {
  const fns = calls.map(([fn]) => {
    const f = exports[fn];
    if (typeof f !== 'function') throw new Error(`the kernel exports no function ${fn}`);
    return f;
  });
  const int = (x: number, what: string) => {
    if (!Number.isSafeInteger(x)) throw new Error(`call of ${what}: ${x} is not an integer`);
    return x;
  };
  // Only integers and indices reach the source text.
  const body = calls.map(([fn, lo, hi, scratch], i) => `f[${i}](${int(lo, fn)}, ${int(hi, fn)}, ${int(scratch, fn)});`).join('\n');
  return new Function('f', `'use strict'; return function parts() {\n${body}\n};`)(fns) as () => void;
}
