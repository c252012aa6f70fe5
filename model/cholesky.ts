/**
 * Linear solves of the cost model (its level line) and of the posterior (its Gaussian process), on
 * ml-matrix's Cholesky decomposition. A tune factors a matrix of up to ~130 rows a dozen times per
 * proposal (the device term's likelihoods, then the posterior) and solves it against every
 * configuration of the space (~400 columns); ml-matrix does that in a few ms where jStat's
 * row-by-row solves, allocating arrays per row, took ~150 ms per proposal on the 2-core VMs.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

export interface CholeskySolver {
  /** x with A·x = b (NaN everywhere when A is not positive definite). */
  solve(b: readonly number[]): number[];
  /** bᵀ·A⁻¹·b of each column b of `columns` (rows: A's order, one array per row): the variance a Gaussian process explains. */
  quadraticForms(columns: readonly (readonly number[])[]): number[];
  /** ln det A (NaN when A is not positive definite). */
  logDet(): number;
}

/** A symmetric positive-definite matrix factored once. */
export function choleskySolver(a: readonly (readonly number[])[]): CholeskySolver {
  const decomposition = new CholeskyDecomposition(new Matrix(a.map((row) => [...row])));
  const positiveDefinite = decomposition.isPositiveDefinite();
  const L = decomposition.lowerTriangularMatrix;
  const n = a.length;
  return {
    solve: (b) => (positiveDefinite ? decomposition.solve(Matrix.columnVector([...b])).getColumn(0) : b.map(() => NaN)),
    quadraticForms(columns) {
      const width = columns[0]?.length ?? 0;
      if (!positiveDefinite) return new Array<number>(width).fill(NaN);
      // bᵀA⁻¹b = |L⁻¹b|²: one forward substitution per column (Rasmussen & Williams, algorithm
      // 2.1), on a row-major copy of L so the inner loop runs over contiguous memory.
      const l = new Float64Array(n * n);
      for (let r = 0; r < n; r++) for (let c = 0; c <= r; c++) l[r * n + c] = L.get(r, c);
      const v = new Float64Array(n);
      const out = new Array<number>(width);
      for (let c = 0; c < width; c++) {
        let sum = 0;
        for (let r = 0; r < n; r++) {
          let x = columns[r]![c]!;
          for (let i = 0; i < r; i++) x -= l[r * n + i]! * v[i]!;
          x /= l[r * n + r]!;
          v[r] = x;
          sum += x * x;
        }
        out[c] = sum;
      }
      return out;
    },
    logDet: () => {
      if (!positiveDefinite) return NaN;
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.log(L.get(i, i));
      return 2 * s;
    },
  };
}
