import { describe, expect, it } from 'vitest';
import { FEATURE_SELECTIONS, lime, type LimeOptions } from '../../src/explain/lime.js';
import { context, randomRows, rowModel } from '../helpers/models.js';

const WIDTH = 5;
const w = [2, -1, 0.5, 0, 3];
const w2 = [0, 1, 1, -2, 0];
const linear = rowModel(WIDTH, (x) => [
  w.reduce((s, wi, i) => s + wi * x[i], 0.3),
  w2.reduce((s, wi, i) => s + wi * x[i], -1),
]);
const background = randomRows(200, WIDTH, 41);
const instances = randomRows(2, WIDTH, 42);

const defaults: LimeOptions = {
  numSamples: 4000,
  seed: 3,
  featureSelection: 'none',
  discretizer: 'none',
  categorical: [],
  ridgeAlpha: 1,
};

function std(j: number): number {
  const col = background.map((r) => Math.fround(r[j]));
  const mean = col.reduce((s, v) => s + v, 0) / col.length;
  return Math.sqrt(col.reduce((s, v) => s + (v - mean) ** 2, 0) / col.length);
}

describe('lime', () => {
  it('recovers a linear model coefficients in standardized units with score near 1', async () => {
    const ctx = context(linear, 2);
    const result = await lime(ctx, instances, background, defaults);
    expect(ctx.modelEvaluations).toBe(2 * 4000);
    expect(result.kernelWidth).toBeCloseTo(0.75 * Math.sqrt(WIDTH), 12);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < WIDTH; j++) {
        // The ridge penalty (alpha 1 against a weighted sum of squares in the thousands)
        // shrinks coefficients by well under 1%.
        for (const [o, coef] of [w, w2].entries()) {
          const expected = coef[j] * std(j);
          expect(Math.abs(result.weights[i][j][o] - expected)).toBeLessThan(
            0.01 * Math.abs(expected) + 1e-3,
          );
        }
      }
      for (let o = 0; o < 2; o++) {
        expect(result.scores[i][o]).toBeGreaterThan(0.9999);
        expect(result.localPredictions[i][o]).toBeCloseTo(result.outputs[i][o], 2);
      }
    }
  });

  it('picks the features that matter with every selection mode', async () => {
    for (const featureSelection of FEATURE_SELECTIONS.filter((s) => s !== 'none')) {
      const result = await lime(context(linear, 2), instances.slice(0, 1), background, {
        ...defaults,
        numSamples: 2000,
        numFeatures: 2,
        featureSelection,
      });
      const kept = (o: number) =>
        result.weights[0].map((v, j) => (v[o] !== 0 ? j : -1)).filter((j) => j >= 0);
      expect(kept(0), featureSelection).toEqual([0, 4]);
      // Output 1: x3 (weight -2) first; x1 and x2 tie for the second place.
      expect(kept(1), featureSelection).toHaveLength(2);
      expect(kept(1), featureSelection).toContain(3);
    }
  });

  it('gives a constant column exactly 0 when discretizing; tied columns give no NaN', async () => {
    const bg = background.map((r) => [r[0], r[1], 7, r[3], r[4]]);
    const tied = bg.map((r, i) => [r[0], i % 10 === 0 ? 1 : 0, r[2], r[3], r[4]]);
    for (const discretizer of ['quartile', 'decile'] as const) {
      const result = await lime(context(linear, 2), [tied[3]], tied, { ...defaults, discretizer });
      expect(result.weights[0][2]).toEqual([0, 0]);
      expect(result.weights.flat(2).every(Number.isFinite)).toBe(true);
      expect(result.scores.flat().every(Number.isFinite)).toBe(true);
    }
  });

  it('samples categories seen in the background, identically per seed', async () => {
    const bg = background.map((r, i) => [r[0], i % 3, r[2], r[3], r[4]]);
    const byCategory = rowModel(WIDTH, (x) => [x[1] === 2 ? 5 : 0, x[0]]);
    const run = () => lime(context(byCategory, 2), [bg[2]], bg, { ...defaults, categorical: [1] });
    const result = await run();
    // Instance in category 2; a sample leaves it with probability 2/3 and loses 5. The ridge
    // penalty shrinks the weight by well under 1%.
    expect(Math.abs(result.weights[0][1][0] - 5)).toBeLessThan(0.05);
    expect(Math.abs(result.weights[0][0][0])).toBeLessThan(0.01);
    expect((await run()).weights).toEqual(result.weights);
  });
});
