// Activation statistics and BN drift on the wine-bn fixture, checked against plain-JS oracles.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationStatsResult } from '../../src/stats/activation-stats.js';
import { buildLayersProbe } from '../../src/stats/layers-probe.js';
import type { ActivationProbe } from '../../src/stats/probe.js';
import { selectBackend } from '../../src/tf/backend.js';
import { FIXTURES_DIR, fixtureData, fixtureModelDir } from '../helpers/fixtures.js';
import { columnMoments, loadFixtureModel, readWeights, runStats } from '../helpers/stats.js';

const FOLDER = fixtureModelDir('wine-bn');
const BN = 'batch_normalization_BatchNormalization1';
const meta = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'wine-bn', 'meta.json'), 'utf8'));
const trainMean: number[] = meta.preprocessing.scaler_mean;
const trainStd: number[] = meta.preprocessing.scaler_scale;
// The model computes in float32: the oracle works on the same float32 inputs, in float64.
const background = fixtureData('wine-bn').background.map((r) => r.map(Math.fround));
const FEATURES = trainMean.length;

let model: tf.LayersModel;
let probe: ActivationProbe;
let base: ActivationStatsResult;

beforeAll(async () => {
  await selectBackend('wasm');
  model = await loadFixtureModel(FOLDER);
  probe = await buildLayersProbe(model, { wants: () => true, wantsInside: () => true });
  base = await runStats(probe, background);
});
afterAll(() => model?.dispose());

function layer(result: ActivationStatsResult, name: string) {
  const found = result.layers.find((l) => l.name === name);
  if (!found) throw new Error(`no layer ${name}`);
  return found;
}

function shiftedBy3Std(k: number): number[][] {
  return background.map((r) => r.map((v, j) => (j === k ? Math.fround(v + 3 * trainStd[j]) : v)));
}

describe('BN drift on wine-bn', () => {
  it("reports the BN weights: moving statistics are the training data's", () => {
    const bn = layer(base, BN).batchNorm!;
    expect(bn.epsilon).toBeCloseTo(1e-3, 9);
    for (let j = 0; j < FEATURES; j++) {
      expect(bn.movingMean[j]).toBeCloseTo(trainMean[j], 3);
      expect(Math.sqrt(bn.movingVariance[j] + bn.epsilon) / trainStd[j]).toBeCloseTo(1, 6);
    }
    expect(bn.gamma).toEqual(readWeights(FOLDER).get(`${BN}/gamma`));
  });

  it('matches input means, variances, shifts and ratios computed from the rows', () => {
    const bn = layer(base, BN).batchNorm!;
    const oracle = columnMoments(background);
    for (let j = 0; j < FEATURES; j++) {
      expect(bn.inputMean[j]! / oracle.mean[j]).toBeCloseTo(1, 9);
      expect(bn.inputVariance[j]! / oracle.variance[j]).toBeCloseTo(1, 8);
      // Training statistics from the metadata, independent of the model's weights.
      expect(bn.shift[j]).toBeCloseTo((oracle.mean[j] - trainMean[j]) / trainStd[j], 5);
      expect(bn.varianceRatio[j]).toBeCloseTo(oracle.variance[j] / trainStd[j] ** 2, 5);
    }
    // The background is 100 of the 133 training rows: its shifts are small.
    expect(bn.summary.maxAbsShift).toBeLessThan(0.3);
    expect(bn.summary.drifted).toBe(false);
    expect(bn.summary.channelsOverThreshold).toBe(0);
  });

  it('raises the shift of a feature moved by 3 training std by 3, and nothing else', async () => {
    const before = layer(base, BN).batchNorm!;
    for (const k of [0, 6, 12]) {
      const after = layer(await runStats(probe, shiftedBy3Std(k)), BN).batchNorm!;
      // Measured: 3.7e-7 off 3 on channel k (float32 inputs and weights), other channels exactly
      // unchanged (same inputs), variance ratios within 4e-7 relative.
      for (let j = 0; j < FEATURES; j++) {
        const expected = j === k ? 3 : 0;
        expect(Math.abs(after.shift[j]! - before.shift[j]! - expected)).toBeLessThan(1e-5);
        expect(Math.abs(after.varianceRatio[j]! / before.varianceRatio[j]! - 1)).toBeLessThan(1e-5);
      }
      expect(after.summary.drifted).toBe(true);
      expect(after.summary.channelsOverThreshold).toBe(1);
      expect(after.summary.maxShiftChannel).toBe(k);
    }
  });
});

/** The network in plain JS from its float32 weights: BN, Dense 16 relu, Dense 3 softmax. */
function forward(row: number[], w: Map<string, number[]>): { bn: number[]; hidden: number[] } {
  const get = (name: string) => w.get(name)!;
  const bn = row.map(
    (x, j) =>
      ((x - get(`${BN}/moving_mean`)[j]) / Math.sqrt(get(`${BN}/moving_variance`)[j] + 1e-3)) *
        get(`${BN}/gamma`)[j] +
      get(`${BN}/beta`)[j],
  );
  const kernel = get('dense_Dense1/kernel');
  const hidden = get('dense_Dense1/bias').map((b, u) =>
    Math.max(
      0,
      bn.reduce((s, x, j) => s + x * kernel[j * 16 + u], b),
    ),
  );
  return { bn, hidden };
}

describe('layer statistics on wine-bn', () => {
  const weights = readWeights(FOLDER);
  const oracle = background.map((r) => forward(r, weights));

  it('matches per-channel mean, std, min, max and dead fraction of the hidden ReLU', () => {
    const hidden = layer(base, 'dense_Dense1');
    expect(hidden.className).toBe('Dense');
    expect(hidden.observedShape).toEqual([null, 16]);
    const values = oracle.map((o) => o.hidden);
    const { mean, variance } = columnMoments(values);
    for (let u = 0; u < 16; u++) {
      const column = values.map((v) => v[u]);
      expect(hidden.mean[u]).toBeCloseTo(mean[u], 4);
      expect(hidden.std[u]).toBeCloseTo(Math.sqrt(variance[u]), 4);
      expect(hidden.min[u]).toBeCloseTo(Math.min(...column), 4);
      expect(hidden.max[u]).toBeCloseTo(Math.max(...column), 4);
      expect(hidden.zeroFraction[u]).toBe(column.filter((v) => v === 0).length / column.length);
      expect(hidden.nonFiniteFraction[u]).toBe(0);
    }
  });

  it('bins the BN output like a histogram built from the rows', () => {
    const values = oracle.flatMap((o) => o.bn);
    const min = Math.min(...values);
    const max = Math.max(...values);
    const histogram = layer(base, BN).histogram!;
    expect(histogram.counts).toHaveLength(30);
    expect(histogram.edges[0]).toBeCloseTo(min, 4);
    expect(histogram.edges[30]).toBeCloseTo(max, 4);
    const expected = new Array(30).fill(0);
    for (const v of values) expected[Math.min(29, Math.floor(((v - min) / (max - min)) * 30))]++;
    // float32 against float64 may move a value that sits on an edge into the next bin.
    const moved = histogram.counts.reduce((s, c, b) => s + Math.abs(c - expected[b]), 0);
    expect(moved).toBeLessThanOrEqual(2);
    expect(histogram.counts.reduce((a, b) => a + b, 0)).toBe(values.length);
  });

  it('gives the same statistics in batches of 7 as in one batch', async () => {
    const batched = await runStats(probe, background, { maxBatchRows: 7 });
    expect(batched.batchRows).toBe(7);
    for (const [i, l] of batched.layers.entries()) {
      const whole = base.layers[i];
      l.mean.forEach((m, c) => expect(m! - whole.mean[c]!).toBeCloseTo(0, 9));
      l.std.forEach((s, c) => expect(s! - whole.std[c]!).toBeCloseTo(0, 9));
      expect(l.histogram).toEqual(whole.histogram);
    }
  });

  it('leaves no tensor behind over 200 consecutive runs', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) {
      // A new probe per run, as each job builds one.
      const fresh = await buildLayersProbe(model, { wants: () => true, wantsInside: () => true });
      await runStats(fresh, background.slice(0, 20), { histogramBins: 5, maxBatchRows: 8 });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
