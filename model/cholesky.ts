/** Linear solves of the cost model (its level line) and of the posterior (its Gaussian process), on jStat. */
import jstat from 'jstat';

const { jStat } = jstat;

/** A symmetric positive-definite matrix factored once (jStat's Cholesky): solve A·x = b, L⁻¹·b for variances, ln det A for likelihoods. */
export function choleskySolver(a: number[][]): { solve(b: number[]): number[]; lowerSolve(b: number[]): number[]; logDet(): number } {
  const L = jStat.cholesky(a);
  const Lt = L[0]!.map((_, c) => L.map((row) => row[c]!));
  return { solve: (b) => jStat.triaUpSolve(Lt, jStat.triaLowSolve(L, b)), lowerSolve: (b) => jStat.triaLowSolve(L, b), logDet: () => 2 * L.reduce((s, row, i) => s + Math.log(row[i]!), 0) };
}
