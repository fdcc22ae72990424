// Small symmetric linear systems, as the regressions behind KernelSHAP and LIME produce them.
import { Matrix, solve } from 'ml-matrix';

/**
 * Solves a x = b for a symmetric q × q matrix and q × k right-hand sides: by Cholesky when a is
 * clearly positive definite, the usual case. Otherwise (fewer distinct coalitions or perturbed
 * rows than features leave the system singular) the minimum-norm least-squares solution,
 * through the SVD.
 */
export function solveSymmetric(
  a: Float64Array,
  b: Float64Array,
  q: number,
  k = 1,
): Float64Array {
  const solution = choleskySolve(a, b, q, k);
  if (solution) return solution;
  const lhs = new Matrix(q, q);
  const rhs = new Matrix(q, k);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < q; j++) lhs.set(i, j, a[i * q + j]);
    for (let o = 0; o < k; o++) rhs.set(i, o, b[i * k + o]);
  }
  return Float64Array.from(solve(lhs, rhs, true).to1DArray());
}

/** Relative size under which a Cholesky pivot counts as zero. */
const PIVOT_TOLERANCE = 1e-10;

/** Cholesky solve; null when a pivot is not clearly positive or the result is not finite. */
function choleskySolve(
  a: Float64Array,
  b: Float64Array,
  q: number,
  k: number,
): Float64Array | null {
  let largest = 0;
  for (let i = 0; i < q; i++) largest = Math.max(largest, a[i * q + i]);
  const lower = new Float64Array(q * q);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * q + j];
      for (let t = 0; t < j; t++) sum -= lower[i * q + t] * lower[j * q + t];
      if (i === j) {
        if (!(sum > PIVOT_TOLERANCE * largest)) return null;
        lower[i * q + i] = Math.sqrt(sum);
      } else {
        lower[i * q + j] = sum / lower[j * q + j];
      }
    }
  }
  const x = Float64Array.from(b);
  for (let o = 0; o < k; o++) {
    for (let i = 0; i < q; i++) {
      let sum = x[i * k + o];
      for (let t = 0; t < i; t++) sum -= lower[i * q + t] * x[t * k + o];
      x[i * k + o] = sum / lower[i * q + i];
    }
    for (let i = q - 1; i >= 0; i--) {
      let sum = x[i * k + o];
      for (let t = i + 1; t < q; t++) sum -= lower[t * q + i] * x[t * k + o];
      x[i * k + o] = sum / lower[i * q + i];
    }
  }
  return x.every(Number.isFinite) ? x : null;
}
