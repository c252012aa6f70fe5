/**
 * Building blocks of the generated gpu.js kernel sources, shared by every gpu.js variant.
 *
 * gpu.js translates a JavaScript subset to GLSL in which every value is a float (WebGL1 has no
 * reliable integer division): index arithmetic is float arithmetic, exact below 2^24, and integer
 * quotients are taken as floor((i + 0.5) / d), which is exact for |i| < 2^22 where a plain
 * floor(i / d) can land one below. Problems whose arrays exceed those ranges are refused
 * (`checkGpuJsProblem`).
 */
import type { DeviceInfo, Problem } from '../../harness/types.js';
import type { GpuJsLayout } from './runner.js';
import { type Segment } from '../../core/structure.js';

/** Rows × columns of one (batch, channel) image of a stage's input or output. */
export interface Plane {
  readonly rows: number;
  readonly cols: number;
}

export const LAYOUTS: readonly GpuJsLayout[] = ['3d', 'flat'];

/** Floats are integers exactly up to 2^24; the quotient trick above needs indices below 2^22. */
export const MAX_GPUJS_ELEMENTS = 2 ** 22;

export function checkGpuJsProblem(problem: Problem, device: DeviceInfo, outPlane: Plane, extraElements = 0): string | undefined {
  const { N, C, H, W } = problem;
  const largest = Math.max(N * C * H * W, N * C * outPlane.rows * outPlane.cols, extraElements);
  if (largest > MAX_GPUJS_ELEMENTS) {
    return `${largest} elements in one array exceed the gpu.js limit of ${MAX_GPUJS_ELEMENTS} (2^22: WebGL1 shader indices are floats, exact integers only below that); reduce N, C, H or W`;
  }
  const tex = device.limits.maxTextureSize ?? 4096;
  if (largest > tex * tex) return `${largest} elements exceed a ${tex}×${tex} texture (MAX_TEXTURE_SIZE of this WebGL context)`;
  return undefined;
}

/** gpu.js output size of a stage producing `images` planes. */
export function stageOutput(layout: GpuJsLayout, plane: Plane, images: number): number[] {
  return layout === '3d' ? [plane.cols, plane.rows, images] : [images * plane.rows * plane.cols];
}

/** Declares the thread's image `nc`, channel `c`, `row` and `col` in its stage's output plane. */
export function threadCoords(layout: GpuJsLayout, plane: Plane, C: number): string {
  const coords =
    layout === '3d'
      ? `const col = this.thread.x; const row = this.thread.y; const nc = this.thread.z;`
      : `const i = this.thread.x; const nc = Math.floor((i + 0.5) / ${plane.rows * plane.cols}); const rem = i - nc * ${plane.rows * plane.cols};
  const row = Math.floor((rem + 0.5) / ${plane.cols}); const col = rem - row * ${plane.cols};`;
  return `${coords}
  const c = nc - Math.floor((nc + 0.5) / ${C}) * ${C};`;
}

/** Element (nc, r, cc) of a plane-structured argument: the problem input is always flat. */
export function at(name: string, layout: GpuJsLayout, plane: Plane, r: string, cc: string): string {
  return layout === '3d' ? `${name}[nc][${r}][${cc}]` : `${name}[(nc * ${plane.rows} + ${r}) * ${plane.cols} + ${cc}]`;
}

/** Block index `t` and in-block position `p` of output index `i` on an axis (blocks of `out`, shifted by `offset`). */
export function blockOf(i: string, out: number, offset: number, t: string, p: string): string {
  return `const ${t} = Math.floor((${i} - ${offset} + 0.5) / ${out}); const ${p} = ${i} - ${offset} - ${t} * ${out};`;
}

/**
 * `n` copies of a statement: a loop with a constant bound, or unrolled with the index as a literal
 * and a per-copy `suffix` for names the statement declares (gpu.js compiles both; unrolling trades
 * shader size for loop overhead).
 */
export function repeat(n: number, unroll: boolean, v: string, stmt: (q: string, suffix: string) => string): string {
  if (!unroll) return `for (let ${v} = 0; ${v} < ${n}; ${v}++) {\n    ${stmt(v, '')}\n  }`;
  return Array.from({ length: n }, (_, q) => stmt(String(q), String(q))).join('\n  ');
}

/** `acc += body` over `n` terms, each only where its `guard` (bounds check) holds. */
export function termSum(acc: string, n: number, unroll: boolean, v: string, term: (q: string) => { readonly guard?: string; readonly body: string }): string {
  return repeat(n, unroll, v, (q) => {
    const t = term(q);
    return t.guard ? `if (${t.guard}) { ${acc} += ${t.body}; }` : `${acc} += ${t.body};`;
  });
}

/** One branch per channel segment (group × shift sub-group), each declaring `cl` (channel in its group). */
export function segmentBranches(segs: readonly Segment[], body: (s: Segment) => string): string {
  return `${segs
    .map(
      (s) => `if (c >= ${s.c0} && c < ${s.c1}) {
    const cl = c - ${s.c0 - s.local0};
    ${body(s)}
  }`,
    )
    .join(' else ')}
  return 0;`;
}

/** The kernel function text. */
export function kernelSource(args: readonly string[], body: string): string {
  return `function (${args.join(', ')}) {
  ${body}
}`;
}
