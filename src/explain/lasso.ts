// The order in which features enter a weighted lasso as its penalty falls: the feature
// selection behind KernelSHAP's `l1Reg` and LIME's `lasso_path`.
import { centeredGram, centeredTarget } from './normal-equations.js';

/**
 * Runs coordinate descent for the weighted lasso
 *   minimize 1/2 sum_r w_r (y_r - b - sum_j x_rj beta_j)^2 + lambda * sum_j |beta_j|
 * down a geometric grid of 60 penalties from the smallest that keeps every beta at 0 to a
 * ten-thousandth of it, each start warm from the last, and records when each feature first
 * turns nonzero. The intercept b is left free (the data are centered by weighted means).
 * @param x - rows × cols, row-major.
 * @param y - one target per row.
 * @param weights - one nonnegative weight per row.
 * @returns feature indices in order of entry; features that never enter come last, by index.
 */
export function lassoEntryOrder(
  x: Float64Array,
  y: Float64Array,
  weights: ArrayLike<number>,
  rows: number,
  cols: number,
): number[] {
  const columns = Array.from({ length: cols }, (_, j) => j);
  const design = centeredGram(x, rows, cols, columns, weights);
  return lassoEntryOrderFromGram(design.gram, centeredTarget(design, y, weights).moment, cols);
}

/**
 * The same path from the centered normal equations alone: `gram` is sum_r w_r xc_r xc_r'
 * (cols × cols, row-major) and `moment` is sum_r w_r xc_r yc_r, with xc and yc centered by
 * weighted means. Each coordinate step then costs `cols` operations instead of a pass over
 * the rows: the correlation of every column with the residual is kept up to date.
 */
export function lassoEntryOrderFromGram(
  gram: Float64Array,
  moment: Float64Array,
  cols: number,
): number[] {
  let lambdaMax = 0;
  for (let j = 0; j < cols; j++) lambdaMax = Math.max(lambdaMax, Math.abs(moment[j]));
  const order: number[] = [];
  if (lambdaMax === 0) return fillOrder(order, cols);

  const beta = new Float64Array(cols);
  // sum_r w_r xc_rj residual_r, with residual = yc - xc beta.
  const correlation = Float64Array.from(moment);
  for (let step = 1; step <= 60; step++) {
    const lambda = lambdaMax * 10 ** ((-4 * step) / 60);
    for (let sweep = 0; sweep < 100; sweep++) {
      if (sweepCoordinates(gram, correlation, beta, cols, lambda) < 1e-10) break;
    }
    for (let j = 0; j < cols; j++) if (beta[j] !== 0 && !order.includes(j)) order.push(j);
    if (order.length === cols) break;
  }
  return fillOrder(order, cols);
}

/** One pass of soft-thresholded coordinate updates; returns the largest change of a beta. */
function sweepCoordinates(
  gram: Float64Array,
  correlation: Float64Array,
  beta: Float64Array,
  cols: number,
  lambda: number,
): number {
  let change = 0;
  for (let j = 0; j < cols; j++) {
    const scale = gram[j * cols + j];
    if (scale === 0) continue;
    const rho = correlation[j] + scale * beta[j];
    const next = (Math.sign(rho) * Math.max(0, Math.abs(rho) - lambda)) / scale;
    const delta = next - beta[j];
    if (delta === 0) continue;
    for (let t = 0; t < cols; t++) correlation[t] -= delta * gram[t * cols + j];
    beta[j] = next;
    change = Math.max(change, Math.abs(delta));
  }
  return change;
}

function fillOrder(order: number[], cols: number): number[] {
  for (let j = 0; j < cols; j++) if (!order.includes(j)) order.push(j);
  return order;
}
