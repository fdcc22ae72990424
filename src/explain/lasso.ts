// The order in which features enter a weighted lasso as its penalty falls: the feature
// selection behind KernelSHAP's `l1Reg` and LIME's `lasso_path`.

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
  const { xc, yc } = centered(x, y, weights, rows, cols);
  const scale = new Float64Array(cols);
  let lambdaMax = 0;
  for (let j = 0; j < cols; j++) {
    let dot = 0;
    for (let r = 0; r < rows; r++) {
      scale[j] += weights[r] * xc[r * cols + j] ** 2;
      dot += weights[r] * xc[r * cols + j] * yc[r];
    }
    lambdaMax = Math.max(lambdaMax, Math.abs(dot));
  }
  const beta = new Float64Array(cols);
  const residual = Float64Array.from(yc);
  const order: number[] = [];
  if (lambdaMax === 0) return fillOrder(order, cols);

  for (let step = 1; step <= 60; step++) {
    const lambda = lambdaMax * 10 ** ((-4 * step) / 60);
    for (let sweep = 0; sweep < 100; sweep++) {
      let change = 0;
      for (let j = 0; j < cols; j++) {
        if (scale[j] === 0) continue;
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += weights[r] * xc[r * cols + j] * residual[r];
        const rho = dot + scale[j] * beta[j];
        const next = (Math.sign(rho) * Math.max(0, Math.abs(rho) - lambda)) / scale[j];
        const delta = next - beta[j];
        if (delta === 0) continue;
        for (let r = 0; r < rows; r++) residual[r] -= delta * xc[r * cols + j];
        beta[j] = next;
        change = Math.max(change, Math.abs(delta));
      }
      if (change < 1e-10) break;
    }
    for (let j = 0; j < cols; j++) if (beta[j] !== 0 && !order.includes(j)) order.push(j);
    if (order.length === cols) break;
  }
  return fillOrder(order, cols);
}

function fillOrder(order: number[], cols: number): number[] {
  for (let j = 0; j < cols; j++) if (!order.includes(j)) order.push(j);
  return order;
}

function centered(
  x: Float64Array,
  y: Float64Array,
  weights: ArrayLike<number>,
  rows: number,
  cols: number,
): { xc: Float64Array; yc: Float64Array } {
  let total = 0;
  let yMean = 0;
  const xMean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    total += weights[r];
    yMean += weights[r] * y[r];
    for (let j = 0; j < cols; j++) xMean[j] += weights[r] * x[r * cols + j];
  }
  const xc = new Float64Array(rows * cols);
  const yc = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    yc[r] = y[r] - yMean / total;
    for (let j = 0; j < cols; j++) xc[r * cols + j] = x[r * cols + j] - xMean[j] / total;
  }
  return { xc, yc };
}
