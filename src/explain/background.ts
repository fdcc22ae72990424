// Shrinking a large background to a few weighted rows, so that every coalition costs less.
import { kmeans } from 'ml-kmeans';
import { createRandom } from './random.js';

export type SummaryMethod = 'kmeans' | 'sample';

/** Rows and the weight each carries in the expectation over the background. */
export interface WeightedRows {
  rows: number[][];
  weights: number[];
}

/**
 * Summarizes background rows to at most `size` rows.
 * `sample`: a seeded sample without replacement, equal weights. `kmeans`: k-means++ centroids
 * (seeded), each weighted by the rows of its cluster, as SHAP's background summaries do; the
 * weighted mean of the centroids equals the mean of the rows. Backgrounds no larger than `size`
 * come back unchanged.
 */
export function summarizeBackground(
  rows: number[][],
  method: SummaryMethod,
  size: number,
  seed: number,
): WeightedRows {
  if (rows.length <= size) return { rows, weights: rows.map(() => 1) };
  if (method === 'sample') {
    const rng = createRandom(seed);
    const order = rows.map((_, r) => r);
    for (let i = 0; i < size; i++) {
      const j = i + rng.int(order.length - i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return { rows: order.slice(0, size).map((r) => rows[r]), weights: new Array(size).fill(1) };
  }
  const result = kmeans(rows, size, { seed, initialization: 'kmeans++', maxIterations: 300 });
  const counts = new Array(size).fill(0);
  for (const cluster of result.clusters) counts[cluster]++;
  const kept = counts.map((count, c) => ({ count, c })).filter((entry) => entry.count > 0);
  return {
    rows: kept.map((entry) => result.centroids[entry.c]),
    weights: kept.map((entry) => entry.count),
  };
}
