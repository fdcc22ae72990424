import { describe, expect, it } from 'vitest';
import { toBackground } from '../../src/explain/coalition-values.js';
import { exactShap } from '../../src/explain/exact-shap.js';
import { kernelShap } from '../../src/explain/kernel-shap.js';
import { clippingWarnings, LOGIT_EPSILON } from '../../src/explain/link.js';
import { context, randomRows, rowModel } from '../helpers/models.js';

const WIDTH = 4;
// A steep sigmoid computed in float32: rows with x0 >= 1 give exactly 1.
const steep = rowModel(WIDTH, (x) => [
  Math.fround(1 / (1 + Math.exp(-(40 * x[0] + x[1] - 0.5 * x[2] + 0.1 * x[3])))),
]);
const background = randomRows(8, WIDTH, 5).map((row) => row.map((v) => v / 4));
const ordinary = randomRows(2, WIDTH, 6).map((row) => row.map((v) => v / 8));
const saturated = [1.5, 0.2, -0.1, 0.3];

describe('logit link on a saturated row', () => {
  it('gives finite, additive values; warns about that row only; leaves others alone', async () => {
    const bg = toBackground(background);
    const ctx = context(steep, 1, 'logit');
    const result = await kernelShap(ctx, [ordinary[0], saturated, ordinary[1]], bg, {
      nsamples: 'auto',
      seed: 1,
    });
    expect(result.values.flat(2).every(Number.isFinite)).toBe(true);
    const clippedLogit = Math.log((1 - LOGIT_EPSILON) / LOGIT_EPSILON);
    expect(result.outputs[1][0]).toBeCloseTo(clippedLogit, 6);
    result.values.forEach((phi, i) => {
      const total = phi.reduce((s, v) => s + v[0], 0);
      expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-8);
    });

    const alone = await exactShap(context(steep, 1, 'logit'), ordinary, bg);
    expect(result.values[0]).toEqual(alone.values[0].map((v) => [expect.closeTo(v[0], 9)]));
    expect(result.values[2]).toEqual(alone.values[1].map((v) => [expect.closeTo(v[0], 9)]));

    const warnings = clippingWarnings('logit', result.outputs, ['benign']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^instance 1, output benign/);
  });

  it('warns about nothing with the identity link', () => {
    expect(clippingWarnings('identity', [[1]], ['p'])).toEqual([]);
  });
});
