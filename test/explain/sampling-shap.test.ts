import { describe, expect, it } from 'vitest';
import { toBackground } from '../../src/explain/coalition-values.js';
import { exactShap } from '../../src/explain/exact-shap.js';
import { samplingShap } from '../../src/explain/sampling-shap.js';
import { context, randomRows, rowModel } from '../helpers/models.js';

const WIDTH = 5;
const weights = [1.5, -2, 0.25, 0, 3];
const linear = rowModel(WIDTH, (x) => [weights.reduce((s, w, i) => s + w * x[i], -0.4)]);
// x0 and x1 enter symmetrically; x3 is never read.
const symmetric = rowModel(WIDTH, (x) => [x[0] * x[1] + Math.sin(x[0] + x[1]) + x[2] * x[4], x[2]]);
const background = randomRows(10, WIDTH, 21);
const instances = randomRows(3, WIDTH, 22);

describe('samplingShap', () => {
  it('gives w * (x - mean(background)) with zero error for a linear model', async () => {
    const result = await samplingShap(context(linear, 1), instances, toBackground(background), {
      permutations: 4,
      seed: 1,
    });
    instances.forEach((x, i) => {
      weights.forEach((w, f) => {
        const mean = background.reduce((s, row) => s + Math.fround(row[f]), 0) / background.length;
        expect(result.values[i][f][0]).toBeCloseTo(w * (Math.fround(x[f]) - mean), 9);
        expect(result.errors![i][f][0]).toBeLessThan(1e-9);
      });
    });
  });

  it('adds up, gives equal values to symmetric features and 0 to an unused one', async () => {
    // Symmetric features x0 and x1 take the same value in the instance and background rows.
    const bg = background.map((row) => [row[0], row[0], row[2], row[3], row[4]]);
    const xs = instances.map((row) => [row[0], row[0], row[2], row[3], row[4]]);
    const result = await samplingShap(context(symmetric, 2), xs, toBackground(bg), {
      permutations: 400,
      seed: 3,
    });
    const exact = await exactShap(context(symmetric, 2), xs, toBackground(bg));
    result.values.forEach((phi, i) => {
      for (let o = 0; o < 2; o++) {
        const total = phi.reduce((s, v) => s + v[o], 0);
        expect(Math.abs(result.baseValues[o] + total - result.outputs[i][o])).toBeLessThan(1e-9);
        expect(phi[3][o]).toBeCloseTo(0, 12);
        expect(Math.abs(phi[0][o] - exact.values[i][0][o])).toBeLessThan(
          4 * result.errors![i][0][o] + 1e-9,
        );
      }
      expect(exact.values[i][0][0]).toBeCloseTo(exact.values[i][1][0], 9);
    });
  });

  it('gives identical values for the same seed and different ones for another', async () => {
    const run = (seed: number) =>
      samplingShap(context(symmetric, 2), instances, toBackground(background), {
        permutations: 6,
        seed,
      });
    const first = await run(9);
    expect((await run(9)).values).toEqual(first.values);
    expect((await run(10)).values).not.toEqual(first.values);
  });

  it('evaluates orders × (M - 1) coalitions per instance over the background', async () => {
    const ctx = context(symmetric, 2);
    const result = await samplingShap(ctx, instances.slice(0, 1), toBackground(background), {
      permutations: 10,
      seed: 2,
    });
    // x3 still varies across background rows, so all 5 features take part.
    expect(result.nsamples).toBe(10 * 4);
    expect(ctx.modelEvaluations).toBe(background.length + 1 + 10 * 4 * background.length);
  });
});
