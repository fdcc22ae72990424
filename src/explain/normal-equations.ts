// Weighted least squares through centered normal equations: accumulated once over the rows,
// then any subset of the columns is solved from them without another pass over the rows.
import { solveSymmetric } from './symmetric-solve.js';

/** Weighted means and centered Gram matrix of some columns of a row-major table. */
export interface CenteredGram {
  /** Columns of the table, in the order of the arrays below. */
  columns: number[];
  rowCount: number;
  totalWeight: number;
  /** Weighted mean per column. */
  means: Float64Array;
  /** sum_r w_r (x_ra - mean_a)(x_rb - mean_b), q × q row-major, symmetric. */
  gram: Float64Array;
  /** x_ra - mean_a, column-major: column a occupies [a * rowCount, (a + 1) * rowCount). */
  centered: Float64Array;
}

/** A target's weighted mean, its centered cross-products with the columns, and its spread. */
export interface CenteredTarget {
  mean: number;
  /** sum_r w_r (x_ra - mean_a)(y_r - mean), per column. */
  moment: Float64Array;
  /** sum_r w_r (y_r - mean)^2. */
  spread: number;
}

/**
 * @param table - rowCount × stride, row-major.
 * @param columns - the columns of `table` to use.
 * @param weights - one nonnegative weight per row, not all 0.
 */
export function centeredGram(
  table: ArrayLike<number>,
  rowCount: number,
  stride: number,
  columns: number[],
  weights: ArrayLike<number>,
): CenteredGram {
  let totalWeight = 0;
  for (let r = 0; r < rowCount; r++) totalWeight += weights[r];
  const q = columns.length;
  const centered = columnsOf(table, rowCount, stride, columns);
  const means = new Float64Array(q);
  for (let a = 0; a < q; a++) {
    const offset = a * rowCount;
    let sum = 0;
    for (let r = 0; r < rowCount; r++) sum += weights[r] * centered[offset + r];
    means[a] = sum / totalWeight;
    for (let r = 0; r < rowCount; r++) centered[offset + r] -= means[a];
  }
  const gram = gramOfColumns(centered, weights, rowCount, q);
  return { columns, rowCount, totalWeight, means, gram, centered };
}

/** The chosen columns of a row-major table, column-major. */
function columnsOf(
  table: ArrayLike<number>,
  rowCount: number,
  stride: number,
  columns: number[],
): Float64Array {
  const q = columns.length;
  const out = new Float64Array(q * rowCount);
  for (let r = 0; r < rowCount; r++) {
    const at = r * stride;
    for (let a = 0; a < q; a++) out[a * rowCount + r] = table[at + columns[a]];
  }
  return out;
}

/** Rows per pass of the Gram accumulation: every column's slice of them stays in cache. */
const GRAM_BLOCK_ROWS = 256;

function gramOfColumns(
  centered: Float64Array,
  weights: ArrayLike<number>,
  rowCount: number,
  q: number,
): Float64Array {
  const gram = new Float64Array(q * q);
  const weighted = new Float64Array(GRAM_BLOCK_ROWS);
  for (let start = 0; start < rowCount; start += GRAM_BLOCK_ROWS) {
    const end = Math.min(rowCount, start + GRAM_BLOCK_ROWS);
    for (let a = 0; a < q; a++) {
      const offsetA = a * rowCount;
      for (let r = start; r < end; r++) weighted[r - start] = weights[r] * centered[offsetA + r];
      let b = a;
      for (; b + 4 <= q; b += 4) {
        addDotFour(weighted, centered, rowCount, start, end, b, gram, a * q + b);
      }
      for (; b < q; b++) gram[a * q + b] += dot(weighted, centered, rowCount, start, end, b);
    }
  }
  for (let a = 0; a < q; a++) for (let b = 0; b < a; b++) gram[a * q + b] = gram[b * q + a];
  return gram;
}

/** sum over rows start..end-1 of v_(r-start) c_rb, for column b of the column-major `columns`. */
function dot(
  v: Float64Array,
  columns: Float64Array,
  rowCount: number,
  start: number,
  end: number,
  b: number,
): number {
  const offset = b * rowCount;
  let sum = 0;
  for (let r = start; r < end; r++) sum += v[r - start] * columns[offset + r];
  return sum;
}

/** dot() for columns b..b+3 in one pass, added to out[at..at+3]: four independent sums. */
function addDotFour(
  v: Float64Array,
  columns: Float64Array,
  rowCount: number,
  start: number,
  end: number,
  b: number,
  out: Float64Array,
  at: number,
): void {
  const o0 = b * rowCount;
  const o1 = o0 + rowCount;
  const o2 = o1 + rowCount;
  const o3 = o2 + rowCount;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let r = start; r < end; r++) {
    const vr = v[r - start];
    s0 += vr * columns[o0 + r];
    s1 += vr * columns[o1 + r];
    s2 += vr * columns[o2 + r];
    s3 += vr * columns[o3 + r];
  }
  out[at] += s0;
  out[at + 1] += s1;
  out[at + 2] += s2;
  out[at + 3] += s3;
}

/** Centers `y` by its weighted mean and takes its cross-products with the Gram's columns. */
export function centeredTarget(
  design: CenteredGram,
  y: ArrayLike<number>,
  weights: ArrayLike<number>,
): CenteredTarget {
  const n = design.rowCount;
  let sum = 0;
  for (let r = 0; r < n; r++) sum += weights[r] * y[r];
  const mean = sum / design.totalWeight;
  const weightedTarget = new Float64Array(n);
  let spread = 0;
  for (let r = 0; r < n; r++) {
    const deviation = y[r] - mean;
    weightedTarget[r] = weights[r] * deviation;
    spread += weights[r] * deviation ** 2;
  }
  const q = design.columns.length;
  const moment = new Float64Array(q);
  for (let a = 0; a < q; a++) moment[a] = dot(weightedTarget, design.centered, n, 0, n, a);
  return { mean, moment, spread };
}

/**
 * The ridge coefficients over the picked columns (indices into the Gram's columns):
 * (G_pp + alpha I) beta = moment_p.
 */
export function ridgeFromGram(
  design: CenteredGram,
  target: CenteredTarget,
  picks: number[],
  alpha: number,
): Float64Array {
  const p = picks.length;
  const q = design.columns.length;
  const lhs = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) lhs[a * p + b] = design.gram[picks[a] * q + picks[b]];
    lhs[a * p + a] += alpha;
    rhs[a] = target.moment[picks[a]];
  }
  return solveSymmetric(lhs, rhs, p);
}

/**
 * sum_r w_r (y_r - mean - x_r . beta)^2 over the centered picked columns, from the normal
 * equations: spread - 2 beta . moment + beta' G beta.
 */
export function residualFromGram(
  design: CenteredGram,
  target: CenteredTarget,
  picks: number[],
  beta: Float64Array,
): number {
  const q = design.columns.length;
  let residual = target.spread;
  for (let a = 0; a < picks.length; a++) {
    let row = 0;
    for (let b = 0; b < picks.length; b++) row += design.gram[picks[a] * q + picks[b]] * beta[b];
    residual += beta[a] * (row - 2 * target.moment[picks[a]]);
  }
  return Math.max(0, residual);
}
