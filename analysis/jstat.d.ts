// jStat ships no types; the functions neotune uses.
declare module 'jstat' {
  const jstat: {
    jStat: {
      studentt: { inv(p: number, dof: number): number };
      /** Lower-triangular T with A = T·Tᵀ. */
      cholesky(a: number[][]): number[][];
      /** x with L·x = b, L lower-triangular. */
      triaLowSolve(l: number[][], b: number[]): number[];
      /** x with U·x = b, U upper-triangular. */
      triaUpSolve(u: number[][], b: number[]): number[];
    };
  };
  export default jstat;
}
