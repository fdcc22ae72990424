import { describe, expect, it } from 'vitest';
import { toBackground } from '../../src/explain/coalition-values.js';
import { exactShap } from '../../src/explain/exact-shap.js';
import { kernelShap, planCoalitions, properCoalitionCount } from '../../src/explain/kernel-shap.js';
import { createRandom } from '../../src/explain/random.js';
import { context, randomRows, rowModel } from '../helpers/models.js';

const WIDTH = 6;
const weights = [0.5, -1.25, 2, 0.75, -0.3, 1.1];

const linear = rowModel(WIDTH, (x) => [weights.reduce((sum, w, i) => sum + w * x[i], 0.2)]);
// Two outputs with products of features: interactions split between their features.
const interacting = rowModel(WIDTH, (x) => [
  x[0] * x[1] + Math.sin(x[2]) - 0.5 * x[3] * x[4] * x[5],
  Math.tanh(x[0] + 2 * x[3]) + x[1] * x[1] * x[5],
]);

const background = randomRows(12, WIDTH, 7);
const instances = randomRows(3, WIDTH, 99);

function maxAbsDiff(a: number[][][], b: number[][][]): number {
  return Math.max(...a.flat(2).map((v, i) => Math.abs(v - b.flat(2)[i])));
}

describe('planCoalitions', () => {
  it('enumerates every proper coalition once at the cap', () => {
    const plan = planCoalitions(5, properCoalitionCount(5), createRandom(1));
    const keys = new Set<string>();
    for (let c = 0; c < plan.coalitionCount; c++) {
      keys.add(plan.masks.subarray(c * 5, c * 5 + 5).join(''));
    }
    expect(plan.exhaustive).toBe(true);
    expect(plan.coalitionCount).toBe(30);
    expect(keys.size).toBe(30);
  });

  it('stays within the budget and pairs each sampled coalition with its complement', () => {
    const m = 12;
    const plan = planCoalitions(m, 300, createRandom(3));
    expect(plan.coalitionCount).toBeLessThanOrEqual(300);
    const keys = new Set<string>();
    for (let c = 0; c < plan.coalitionCount; c++) {
      keys.add(plan.masks.subarray(c * m, c * m + m).join(''));
    }
    for (const key of keys) {
      const flipped = [...key].map((b) => (b === '1' ? '0' : '1')).join('');
      if (key.split('1').length - 1 !== m / 2) expect(keys.has(flipped)).toBe(true);
    }
  });
});

describe('kernelShap', () => {
  it('gives w * (x - mean(background)) for a linear model', async () => {
    const result = await kernelShap(context(linear, 1), instances, toBackground(background), {
      nsamples: 40,
      seed: 1,
    });
    instances.forEach((x, i) => {
      weights.forEach((w, f) => {
        const mean = background.reduce((s, row) => s + Math.fround(row[f]), 0) / background.length;
        expect(result.values[i][f][0]).toBeCloseTo(w * (Math.fround(x[f]) - mean), 5);
      });
    });
  });

  it('equals brute-force exact Shapley values when every coalition is enumerated', async () => {
    for (const [model, outputs] of [
      [linear, 1],
      [interacting, 2],
    ] as const) {
      const bg = toBackground(background);
      const exact = await exactShap(context(model, outputs), instances, bg);
      const kernel = await kernelShap(context(model, outputs), instances, bg, {
        nsamples: 'auto',
        seed: 5,
      });
      expect(kernel.nsamples).toBe(properCoalitionCount(WIDTH));
      expect(maxAbsDiff(kernel.values, exact.values)).toBeLessThan(1e-6);
      expect(kernel.baseValues[0]).toBeCloseTo(exact.baseValues[0], 12);
    }
  });

  it('adds up to the output minus the base value when sampling', async () => {
    const m = 14;
    const model = rowModel(m, (x) => [x[0] * x[1] + x[2] * x[3] * x[4] + Math.cos(x[5]) + x[13]]);
    const bg = toBackground(randomRows(10, m, 3));
    const xs = randomRows(2, m, 4);
    const result = await kernelShap(context(model, 1), xs, bg, { nsamples: 200, seed: 2 });
    result.values.forEach((phi, i) => {
      const total = phi.reduce((s, v) => s + v[0], 0);
      expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-6);
    });
  });

  it('stays finite and additive with fewer coalitions than features', async () => {
    const m = 14;
    const model = rowModel(m, (x) => [x[0] * x[1] + x[2] - x[9] * x[13]]);
    const bg = toBackground(randomRows(6, m, 21));
    const xs = randomRows(2, m, 22);
    const result = await kernelShap(context(model, 1), xs, bg, { nsamples: 4, seed: 2 });
    result.values.forEach((phi, i) => {
      expect(phi.flat().every(Number.isFinite)).toBe(true);
      const total = phi.reduce((s, v) => s + v[0], 0);
      expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-9);
    });
  });

  it('moves closer to exact values as nsamples grows', async () => {
    const m = 11;
    const model = rowModel(m, (x) => [
      x[0] * x[1] - x[2] * x[3] * x[4] + Math.sin(x[5] * x[6]) + x[7] * x[8] * x[9] * x[10],
    ]);
    const bg = toBackground(randomRows(8, m, 11));
    const xs = randomRows(4, m, 12);
    const exact = await exactShap(context(model, 1), xs, bg);
    const meanError = async (nsamples: number) => {
      let sum = 0;
      for (const seed of [1, 2, 3]) {
        const r = await kernelShap(context(model, 1), xs, bg, { nsamples, seed });
        sum += r.values.flat(2).reduce((s, v, i) => s + Math.abs(v - exact.values.flat(2)[i]), 0);
      }
      return sum;
    };
    const small = await meanError(60);
    const medium = await meanError(400);
    const large = await meanError(1600);
    expect(medium).toBeLessThan(small);
    expect(large).toBeLessThan(medium);
  });

  it('gives identical values for the same seed', async () => {
    const bg = toBackground(background);
    const run = () => kernelShap(context(interacting, 2), instances, bg, { nsamples: 20, seed: 9 });
    expect((await run()).values).toEqual((await run()).values);
  });

  it('gives 0 to a feature equal in the instance and every background row', async () => {
    const bg = background.map((row) => [...row.slice(0, 5), 1.5]);
    const xs = instances.map((row) => [...row.slice(0, 5), 1.5]);
    const result = await kernelShap(context(interacting, 2), xs, toBackground(bg), {
      nsamples: 'auto',
      seed: 1,
    });
    for (const phi of result.values) expect(phi[5]).toEqual([0, 0]);
  });
});

describe('kernelShap with l1 feature selection', () => {
  const m = 7;
  const w = [3, -2.5, 0.02, -0.01, 0.03, 0.01, -0.02];
  const model = rowModel(m, (x) => [w.reduce((s, wi, i) => s + wi * x[i], 0), x[0] * 0.5 + x[6]]);
  const bg = toBackground(randomRows(10, m, 31));
  const xs = randomRows(2, m, 32);

  it('keeps the k features that matter, gives the rest exactly 0 and still adds up', async () => {
    const result = await kernelShap(context(model, 2), xs, bg, {
      nsamples: 60,
      seed: 1,
      l1Features: 2,
    });
    result.values.forEach((phi, i) => {
      const nonzero = phi.map((v, f) => (v[0] !== 0 ? f : -1)).filter((f) => f >= 0);
      expect(nonzero).toEqual([0, 1]);
      expect(phi.map((v, f) => (v[1] !== 0 ? f : -1)).filter((f) => f >= 0)).toEqual([0, 6]);
      for (let o = 0; o < 2; o++) {
        const total = phi.reduce((s, v) => s + v[o], 0);
        expect(Math.abs(result.baseValues[o] + total - result.outputs[i][o])).toBeLessThan(1e-9);
      }
    });
    expect(result.errors).toBeUndefined();
  });

  it('equals the unselected result when k covers every feature', async () => {
    const all = await kernelShap(context(model, 2), xs, bg, { nsamples: 60, seed: 1 });
    const kept = await kernelShap(context(model, 2), xs, bg, {
      nsamples: 60,
      seed: 1,
      l1Features: m,
    });
    expect(kept.values).toEqual(all.values);
  });
});

describe('kernelShap on a request split into chunks', () => {
  it(
    'gives every instance the same values alone, in a chunk, or in the whole request',
    async () => {
      const m = 12;
      const model = rowModel(m, (x) => [
        x[0] * x[1] + Math.sin(x[2] * x[3]) - x[4] * x[5] * x[11],
        x[6],
      ]);
      const bg = toBackground(randomRows(9, m, 21));
      const xs = randomRows(5, m, 22);
      const options = { nsamples: 150, seed: 77 };
      const whole = await kernelShap(context(model, 2), xs, bg, options);
      const chunks = [xs.slice(0, 2), xs.slice(2, 3), xs.slice(3)];
      const parts = [];
      let first = 0;
      for (const chunk of chunks) {
        parts.push(
          await kernelShap(context(model, 2), chunk, bg, { ...options, firstInstance: first }),
        );
        first += chunk.length;
      }
      expect(parts.flatMap((p) => p.values)).toEqual(whole.values);
      expect(parts.flatMap((p) => p.outputs)).toEqual(whole.outputs);
      for (const part of parts) expect(part.baseValues).toEqual(whole.baseValues);
    },
  );

  it('samples different coalitions for different instances and seeds', async () => {
    // The same row twice: with one stream per instance, the two sampled estimates differ.
    const m = 12;
    const model = rowModel(m, (x) => [x[0] * x[1] * x[2] + x[3] * x[4] - x[5] * x[6] * x[7]]);
    const bg = toBackground(randomRows(9, m, 31));
    const x = randomRows(1, m, 32)[0];
    const result = await kernelShap(context(model, 1), [x, x], bg, { nsamples: 60, seed: 1 });
    expect(result.values[0]).not.toEqual(result.values[1]);
    const reseeded = await kernelShap(context(model, 1), [x], bg, { nsamples: 60, seed: 2 });
    expect(reseeded.values[0]).not.toEqual(result.values[0]);
  });
});

describe('kernelShap with fewer coalitions than features', () => {
  it('still adds up to the output minus the base value (least-norm solution)', async () => {
    const m = 13;
    const model = rowModel(m, (x) => [x[0] * x[1] + x[2] - x[12]]);
    const bg = toBackground(randomRows(4, m, 6));
    const xs = randomRows(2, m, 5);
    const result = await kernelShap(context(model, 1), xs, bg, { nsamples: 2, seed: 0 });
    result.values.forEach((phi, i) => {
      expect(phi.flat().every(Number.isFinite)).toBe(true);
      const total = phi.reduce((s, v) => s + v[0], 0);
      expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-6);
    });
  });
});
