import { describe, expect, it } from 'vitest';
import { summarizeBackground } from '../../src/explain/background.js';
import { toBackground } from '../../src/explain/coalition-values.js';
import { exactShap } from '../../src/explain/exact-shap.js';
import { context, randomRows, rowModel } from '../helpers/models.js';

const rows = randomRows(300, 4, 61);

describe('summarizeBackground', () => {
  it('k-means keeps the background mean through cluster weights', () => {
    const summary = summarizeBackground(rows, 'kmeans', 10, 1);
    expect(summary.rows.length).toBeLessThanOrEqual(10);
    expect(summary.weights.reduce((s, w) => s + w, 0)).toBe(300);
    for (let j = 0; j < 4; j++) {
      const mean = rows.reduce((s, r) => s + r[j], 0) / 300;
      const weighted = summary.rows.reduce((s, r, c) => s + summary.weights[c] * r[j], 0) / 300;
      expect(weighted).toBeCloseTo(mean, 9);
    }
  });

  it('samples distinct rows, the same ones for the same seed', () => {
    const first = summarizeBackground(rows, 'sample', 20, 5);
    expect(first.rows).toHaveLength(20);
    expect(new Set(first.rows).size).toBe(20);
    expect(summarizeBackground(rows, 'sample', 20, 5).rows).toEqual(first.rows);
    expect(first.weights).toEqual(new Array(20).fill(1));
  });

  it("keeps a linear model's Shapley values: the weights are honoured", async () => {
    const w = [1, -2, 0.5, 3];
    const model = rowModel(4, (x) => [w.reduce((s, wi, i) => s + wi * x[i], 0)]);
    const summary = summarizeBackground(rows, 'kmeans', 8, 2);
    const x = [[0.3, -0.2, 1, 0.5]];
    const full = await exactShap(context(model, 1), x, toBackground(rows));
    const small = await exactShap(
      context(model, 1),
      x,
      toBackground(summary.rows, summary.weights),
    );
    // Float32 rounding of the centroids limits agreement to about 1e-6.
    small.values[0].forEach((v, f) => expect(v[0]).toBeCloseTo(full.values[0][f][0], 5));
  });
});
