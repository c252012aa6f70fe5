/**
 * The built-in suites (NeoNeXt networks and stages, smoke, sweeps) and what a suite is, without
 * file access: a page builds them as the CLI does. Suite files and name resolution: suite.ts.
 */
import { type ModelName, networkCells } from '../core/network.js';
import { copyProblem, dwconvProblem, neoCellProblem, outputShape } from '../harness/problem.js';
import type { CopyProblem, Dtype, DwConvProblem, NeoCellProblem } from '../harness/types.js';

/** One case of a suite: a NeoCell problem and the depthwise convolution (and copy) it is compared with. */
export interface BenchCase {
  /** Layer name(s) in the network, or a sweep label. */
  readonly name: string;
  /** How many times this problem occurs in one forward pass (1 for sweeps). */
  readonly occurrences: number;
  readonly neocell: NeoCellProblem;
  /** Depthwise conv producing the same output shape, and a copy of the input tensor. */
  readonly dwconv: DwConvProblem;
  readonly copy: CopyProblem;
}

/** A named list of cases to benchmark or tune. */
export interface Suite {
  readonly name: string;
  readonly description: string;
  readonly cases: readonly BenchCase[];
  /** The network whose NeoCell layers the cases are (network and stage suites): reports draw its per-layer chart and estimate. */
  readonly network?: { readonly model: ModelName; readonly resolution: number };
}

/** A problem a suite's run tunes: a case's NeoCell problem or its depthwise conv, named as reports and progress name it. */
export interface SuiteProblem {
  readonly name: string;
  readonly c: BenchCase;
  readonly problem: NeoCellProblem | DwConvProblem;
}

/** A suite's problems as a run tunes them: every case's NeoCell problem and its depthwise conv. */
export function suiteProblems(suite: Suite): SuiteProblem[] {
  // Network suites name cases "stage1.neocell"; others by the cell ("4+7 s1").
  return suite.cases.flatMap((c) => [c.neocell, c.dwconv].map((problem) => ({ name: c.name.endsWith(problem.op) ? c.name : `${c.name} ${problem.op}`, c, problem })));
}

export interface SuiteOptions {
  batch?: number;
  /** Depthwise kernel size of the baseline (default 7). */
  dwK?: number;
  /** Element type of every problem (default float32). */
  dtype?: Dtype;
}

export function benchCase(name: string, occurrences: number, neocell: NeoCellProblem, dwK = 7): BenchCase {
  const o = outputShape(neocell);
  return {
    name,
    occurrences,
    neocell,
    dwconv: dwconvProblem({ N: o.N, C: o.C, H: o.H, W: o.W, K: dwK, dtype: neocell.dtype }),
    copy: copyProblem({ N: neocell.N, C: neocell.C, H: neocell.H, W: neocell.W, dtype: neocell.dtype }),
  };
}

/** Every distinct NeoCell problem of NeoNeXt-`model` at `resolution` (block cells and 2→1 down-sampling cells). */
export function networkSuite(model: ModelName, resolution: number, opts: SuiteOptions = {}): Suite {
  const N = opts.batch ?? 1;
  const cases = networkCells(model, resolution).map((c) => {
    const p = neoCellProblem({ N, C: c.cell.C, H: c.H, W: c.W, spec: c.cell.groups.map((g) => ({ channels: g.channels, h_in: g.a.in, h_out: g.a.out, w_in: g.b.in, w_out: g.b.out, shift_a: g.a.shift, shift_b: g.b.shift })) });
    return benchCase(c.name, c.occurrences, p, opts.dwK);
  });
  return { name: `neonext-${model}${resolution === 224 ? '' : `@${resolution}`}`, description: `NeoNeXt-${model.toUpperCase()} at ${resolution}×${resolution}, batch ${N}: every NeoCell of the network`, cases, network: { model, resolution } };
}

/** The stage cells only (k = 7 and "4+7", the shapes the performance targets name). */
export function stageSuite(model: ModelName, resolution: number, opts: SuiteOptions = {}): Suite {
  const s = networkSuite(model, resolution, opts);
  return { ...s, name: `${s.name}-stages`, description: `${s.description} (stage cells only)`, cases: s.cases.filter((c) => c.name.startsWith('stage')) };
}

/** A small suite for smoke runs and CI: quick shapes that still cover groups, shifts and down-sampling. */
export function smokeSuite(opts: SuiteOptions = {}): Suite {
  const N = opts.batch ?? 1;
  return {
    name: 'smoke',
    description: `small shapes covering groups, shifts and 2→1 cells, batch ${N}`,
    cases: [
      benchCase('4+7 s1', 1, neoCellProblem({ N, C: 32, H: 28, W: 28, spec: '4+7', shift: 1 }), opts.dwK),
      benchCase('7', 1, neoCellProblem({ N, C: 64, H: 14, W: 14, spec: '7' }), opts.dwK),
      benchCase('2→1', 1, neoCellProblem({ N, C: 32, H: 28, W: 28, spec: { h_in: 2, h_out: 1, w_in: 2, w_out: 1 } }), opts.dwK),
    ],
  };
}

/**
 * Micro sweeps around NeoNeXt-T's stage-1 cell: one dimension varies, the rest stays at
 * 1×96×56×56, k = 7 (block size 2…9; channels; spatial size; batch).
 */
export function sweepSuite(kind: 'block' | 'channels' | 'spatial' | 'batch', opts: SuiteOptions = {}): Suite {
  const N = opts.batch ?? 1;
  const mk = (name: string, s: { N?: number; C?: number; H?: number; spec?: string }) =>
    benchCase(name, 1, neoCellProblem({ N: s.N ?? N, C: s.C ?? 96, H: s.H ?? 56, W: s.H ?? 56, spec: s.spec ?? '7' }), opts.dwK);
  const cases =
    kind === 'block'
      ? [2, 3, 4, 5, 6, 7, 8, 9].map((k) => mk(`k${k}`, { spec: String(k) }))
      : kind === 'channels'
        ? [32, 64, 96, 192, 384, 768].map((C) => mk(`C${C}`, { C, H: 28 }))
        : kind === 'spatial'
          ? [7, 14, 28, 56, 112].map((H) => mk(`${H}x${H}`, { H }))
          : [1, 2, 4, 8].map((b) => mk(`N${b}`, { N: b }));
  return { name: `sweep-${kind}`, description: `sweep of ${kind} around 1×96×56×56, k = 7`, cases };
}

/**
 * The problems of the hub of exhaustive spaces (tuner/hub.ts): NeoNeXt-T's seven cells at 224
 * (stage cells and 2→1 cells), two at batch 8, cells of NeoNeXt-T at 384 and NeoNeXt-B, and
 * sweep shapes with other channel counts, sizes, block sizes, shifts and group splits, so a model
 * scored leave-one-problem-out meets problems unlike the ones it learned from.
 */
export function hubSuite(opts: SuiteOptions = {}): Suite {
  const t = networkSuite('t', 224).cases;
  const cell = (cases: readonly BenchCase[], label: string, name: string, N = 1) => {
    const c = cases.find((x) => x.name.startsWith(name))!;
    return benchCase(`${label} ${c.name}`, 1, { ...c.neocell, N }, opts.dwK);
  };
  const t384 = networkSuite('t', 384).cases;
  const b224 = networkSuite('b', 224).cases;
  const sweep = (name: string, s: { C: number; H: number; spec: string; shift?: number }) => benchCase(name, 1, neoCellProblem({ N: 1, C: s.C, H: s.H, W: s.H, spec: s.spec, shift: s.shift ?? 0 }), opts.dwK);
  return {
    name: 'hub',
    description: 'the problems of the hub of exhaustive spaces: NeoNeXt-T at 224 (every cell), batch 8, NeoNeXt-T at 384, NeoNeXt-B and sweep shapes',
    cases: [
      ...t.map((c) => benchCase(`T ${c.name}`, 1, c.neocell, opts.dwK)),
      cell(t, 'T N8', 'stage3', 8),
      cell(t, 'T N8', 'stage4', 8),
      cell(t384, 'T@384', 'stage4'),
      cell(t384, 'T@384', 'down3'),
      cell(b224, 'B', 'stage2'),
      sweep('k5 s2 C128 32×32', { C: 128, H: 32, spec: '5', shift: 2 }),
      sweep('3+5+7 s1 C192 20×20', { C: 192, H: 20, spec: '3+5+7', shift: 1 }),
      sweep('k2 C64 56×56', { C: 64, H: 56, spec: '2' }),
      sweep('k9 C48 36×36', { C: 48, H: 36, spec: '9' }),
    ],
  };
}

export const SWEEPS = ['sweep-block', 'sweep-channels', 'sweep-spatial', 'sweep-batch'] as const;
