import { describe, expect, it } from 'vitest';
import { permutationImportance, scorer } from '../../src/explain/permutation-importance.js';
import { context, randomRows, rowModel } from '../helpers/models.js';

// Columns: x0, x1 (a copy of x0), x2 (enters the model with the wrong sign), x3 (unused).
const base = randomRows(25, 2, 51);
const rows = base.map(([a, b]) => [a, a, b, 0.5 * a - b]).map((r) => r.map(Math.fround));
// The model predicts x0 + x1 + x2; the truth is 2 x0 - x2.
const model = rowModel(4, (x) => [x[0] + x[1] + x[2]]);
const labels = rows.map((r) => Math.fround(2 * r[0] - r[2]));

const col = (j: number) => rows.map((r) => r[j]);
const meanOf = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
const meanSquare = (xs: number[]) => meanOf(xs.map((v) => v * v));
const populationVariance = (xs: number[]) => meanSquare(xs) - meanOf(xs) ** 2;

describe('permutationImportance with mse', () => {
  // Over uniform row permutations pi, E[mean_i x_i x_pi(i)] = mean(x)^2 and so
  // E[mean_i (x_pi(i) - x_i)^2] = 2 var(x) (population variance); with the residual
  // e = f - y = 2 x2 and a shuffled column c of coefficient a, mse = mean((e + a (c' - c))^2).
  it('matches the hand-computed expectations within 4 standard errors', async () => {
    const nRepeats = 400;
    const result = await permutationImportance(context(model, 1), rows, {
      labels,
      metric: 'mse',
      nRepeats,
      seed: 8,
      groups: [[0], [1], [0, 1], [2], [3]],
    });
    const x0 = col(0);
    const x2 = col(2);
    const baselineMse = meanSquare(x2.map((v) => 2 * v));
    expect(result.baselineScore).toBeCloseTo(baselineMse, 5);

    // Shuffling x0 (or its copy): error 2 x2 + (x0' - x0); the cross term's expectation is
    // 2 * mean(2 x2 (x0' - x0)) = 4 (mean(x2) mean(x0) - mean(x2 x0)) = -4 cov(x2, x0).
    const cov = meanOf(x2.map((v, i) => v * x0[i])) - meanOf(x2) * meanOf(x0);
    const single = 2 * populationVariance(x0) - 4 * cov;
    // Shuffling both copies together doubles the shift: 4 * 2 var(x0) - 8 cov.
    const pair = 8 * populationVariance(x0) - 8 * cov;
    // Shuffling x2: error x2 + x2', mse expectation 2 mean(x2^2) + 2 mean(x2)^2.
    const harmful = 2 * meanSquare(x2) + 2 * meanOf(x2) ** 2 - baselineMse;
    const expected = [single, single, pair, harmful, 0];
    result.importances.forEach((imp, g) => {
      const stderr = imp.std / Math.sqrt(nRepeats);
      expect(Math.abs(imp.mean - expected[g])).toBeLessThanOrEqual(4 * stderr + 1e-9);
      expect(imp.repeats).toHaveLength(nRepeats);
    });
    expect(result.importances[3].mean).toBeLessThan(0);
    expect(result.importances[4]).toMatchObject({ mean: 0, std: 0 });
  });
});

describe('permutationImportance without labels', () => {
  it('gives the mean absolute output change: 0 for an unused column', async () => {
    const result = await permutationImportance(context(model, 1), rows, { nRepeats: 5, seed: 1 });
    expect(result.baselineScore).toBeNull();
    expect(result.importances[3].mean).toBe(0);
    expect(result.importances[0].mean).toBeGreaterThan(0);
  });

  it('gives identical repeats for the same seed', async () => {
    const run = () => permutationImportance(context(model, 1), rows, { nRepeats: 3, seed: 4 });
    expect((await run()).importances).toEqual((await run()).importances);
  });

  it('gives the same numbers whatever the batches: one copy a call or all in one', async () => {
    const options = { labels, metric: 'mae' as const, nRepeats: 3, seed: 6 };
    const whole = context(model, 1, 'identity', 100_000);
    // A batch smaller than one shuffled copy: every copy is split across model calls.
    const split = context(model, 1, 'identity', 7);
    const one = await permutationImportance(whole, rows, options);
    const other = await permutationImportance(split, rows, options);
    expect(other).toEqual(one);
    expect(split.modelEvaluations).toBe(whole.modelEvaluations);
    expect(whole.modelEvaluations).toBe(rows.length * (1 + 4 * 3));
  });
});

describe('scorer', () => {
  it('scores by hand-checked numbers', () => {
    const probs = Float64Array.from([0.7, 0.2, 0.1, 0.1, 0.3, 0.6]);
    expect(scorer('accuracy', [0, 1], 3)(probs)).toBe(0.5);
    expect(scorer('log_loss', [0, 2], 3)(probs)).toBeCloseTo(
      -(Math.log(0.7) + Math.log(0.6)) / 2,
      12,
    );
    expect(scorer('log_loss', [1, 0], 1)(Float64Array.from([0.8, 0.4]))).toBeCloseTo(
      -(Math.log(0.8) + Math.log(0.6)) / 2,
      12,
    );
    const out = Float64Array.from([1, 2, 4]);
    expect(scorer('mse', [1, 3, 2], 1)(out)).toBeCloseTo(5 / 3, 12);
    expect(scorer('mae', [1, 3, 2], 1)(out)).toBeCloseTo(1, 12);
    // Labels 1, 3, 2: mean 2, total sum of squares 2; residual sum of squares 5.
    expect(scorer('r2', [1, 3, 2], 1)(out)).toBeCloseTo(1 - 5 / 2, 12);
  });
});
