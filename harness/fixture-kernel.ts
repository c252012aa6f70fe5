/**
 * A kernel whose cost is a parameter: a copy of the input followed by `work · factor` dependent
 * floating-point operations. Used by `neotune compare --self-test` to prove that a kernel made
 * 30 % slower is flagged as regressed (and 30 % faster as improved) on this machine, through the
 * same harness and statistics as real kernels.
 */
import type { CopyProblem, KernelInstance, KernelVariant, ProblemData } from './types.js';

class SpinCopy implements KernelInstance {
  readonly source: string;
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  sink = 0;

  constructor(private readonly iterations: number) {
    this.source = `copy + ${iterations} dependent multiply-adds`;
  }
  prepare(data: ProblemData): void {
    this.x = data.x;
    this.y = new Float32Array(data.x.length);
  }
  poisonOutput(): void {
    this.y.fill(NaN);
  }
  run(): void {
    this.y.set(this.x);
    let a = this.sink + 1;
    for (let i = 0; i < this.iterations; i++) a = a * 0.999999 + 1e-6;
    this.sink = a;
  }
  readOutput(): Float32Array {
    return this.y;
  }
  dispose(): void {}
}

/** `work` = dependent operations at factor 1 (≈ 0.1 ms on this machine at 20 000). */
export function fixtureKernel(work = 20_000): KernelVariant {
  return {
    backend: 'cpu',
    name: 'fixture-spin',
    op: 'copy',
    role: 'ceiling',
    params: () => [{ name: 'factor', values: [0.7, 1, 1.3], doc: 'cost multiplier' }],
    defaults: () => ({ factor: 1 }),
    async create(problem, params) {
      void (problem as CopyProblem);
      return new SpinCopy(Math.round(work * Number(params.factor)));
    },
  };
}
