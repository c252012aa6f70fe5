/** Linear solves of the cost model (its level line) and of the posterior (its Gaussian process), on jStat. */
import jstat from 'jstat';

const { jStat } = jstat;

/** A symmetric positive-definite matrix factored once (jStat's Cholesky): solve A·x = b, and L⁻¹·b for variances. */
export function choleskySolver(a: number[][]): { solve(b: number[]): number[]; lowerSolve(b: number[]): number[] } {
  const L = jStat.cholesky(a);
  const Lt = L[0]!.map((_, c) => L.map((row) => row[c]!));
  return { solve: (b) => jStat.triaUpSolve(Lt, jStat.triaLowSolve(L, b)), lowerSolve: (b) => jStat.triaLowSolve(L, b) };
}
