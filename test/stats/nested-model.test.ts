// Nested models and BN layers without gamma or beta, checked against a plain-JS forward pass.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayersProbe, listBatchNormLayers } from '../../src/stats/layers-probe.js';
import { selectBackend } from '../../src/tf/backend.js';
import { randomRows } from '../helpers/models.js';
import { columnMoments, runStats } from '../helpers/stats.js';

const PRE = {
  kernel: [
    [1, 0.5],
    [-1, 2],
    [0.25, 0],
    [0, -0.5],
  ],
  bias: [0.1, -0.2],
}; // 4 -> 2
const INNER = {
  kernel: [
    [2, -1, 0.5],
    [1, 1, -3],
  ],
  bias: [0, 0.5, 1],
}; // 2 -> 3
const MOVING_MEAN = [0.5, -1, 2];
const MOVING_VARIANCE = [1, 0, 4];
const EPSILON = 0.01;

function dense(x: number[], w: { kernel: number[][]; bias: number[] }): number[] {
  return w.bias.map((b, u) => x.reduce((s, v, i) => s + v * w.kernel[i][u], b));
}

/** input(4) -> Dense pre -> Sequential block [Dense inner_dense, BN inner_bn] -> Dense head. */
function buildModel(): tf.LayersModel {
  const innerDense = tf.layers.dense({ units: 3, inputShape: [2], name: 'inner_dense' });
  const innerBn = tf.layers.batchNormalization({
    name: 'inner_bn',
    scale: false,
    center: false,
    epsilon: EPSILON,
  });
  const block = tf.sequential({ name: 'block', layers: [innerDense, innerBn] });
  innerDense.setWeights([tf.tensor(INNER.kernel), tf.tensor(INNER.bias)]);
  innerBn.setWeights([tf.tensor(MOVING_MEAN), tf.tensor(MOVING_VARIANCE)]);
  const input = tf.input({ shape: [4], name: 'features' });
  const pre = tf.layers.dense({ units: 2, name: 'pre' });
  const head = tf.layers.dense({ units: 1, name: 'head' });
  const output = head.apply(block.apply(pre.apply(input))) as tf.SymbolicTensor;
  pre.setWeights([tf.tensor(PRE.kernel), tf.tensor(PRE.bias)]);
  return tf.model({ inputs: input, outputs: output });
}

const rows = randomRows(40, 4, 5).map((r) => r.map(Math.fround));
let model: tf.LayersModel;

beforeAll(async () => {
  await selectBackend('wasm');
  model = buildModel();
});

describe('nested LayersModel', () => {
  it('reports layers inside the nested model under their full path', async () => {
    const probe = await buildLayersProbe(model, { wants: () => true, wantsInside: () => true });
    const result = await runStats(probe, rows);
    expect(result.layers.map((l) => l.name)).toEqual([
      'features',
      'pre',
      'block',
      'block/inner_dense',
      'block/inner_bn',
      'head',
    ]);

    const innerOut = rows.map((r) => dense(dense(r, PRE), INNER));
    const oracle = columnMoments(innerOut);
    const innerDense = result.layers.find((l) => l.name === 'block/inner_dense')!;
    oracle.mean.forEach((m, c) => expect(innerDense.mean[c]).toBeCloseTo(m, 4));

    const bn = result.layers.find((l) => l.name === 'block/inner_bn')!.batchNorm!;
    expect(bn.gamma).toBeNull();
    expect(bn.beta).toBeNull();
    expect(bn.epsilon).toBeCloseTo(EPSILON, 9);
    for (let c = 0; c < 3; c++) {
      const denominator = MOVING_VARIANCE[c] + EPSILON;
      expect(bn.inputMean[c]).toBeCloseTo(oracle.mean[c], 4);
      expect(bn.inputVariance[c]! / oracle.variance[c]).toBeCloseTo(1, 4);
      expect(bn.shift[c]).toBeCloseTo(
        (oracle.mean[c] - MOVING_MEAN[c]) / Math.sqrt(denominator),
        3,
      );
      expect(bn.varianceRatio[c]! / (oracle.variance[c] / denominator)).toBeCloseTo(1, 4);
    }
    // The nested model's output is its last layer's output.
    expect(result.layers.find((l) => l.name === 'block')!.mean).toEqual(
      result.layers.find((l) => l.name === 'block/inner_bn')!.mean,
    );
  });

  it('reports only the layers asked for, entering the nested model for them', async () => {
    const wanted = new Set(['block/inner_bn', 'head']);
    const probe = await buildLayersProbe(model, {
      wants: (p) => wanted.has(p),
      wantsInside: (p) => [...wanted].some((w) => w.startsWith(`${p}/`)),
    });
    const result = await runStats(probe, rows, { histogramBins: 0 });
    expect(result.layers.map((l) => l.name)).toEqual(['block/inner_bn', 'head']);
    expect(result.passes).toBe(1);
    expect(result.layers.every((l) => l.histogram === null)).toBe(true);
  });

  it('lists nested BN layers without gamma and beta', async () => {
    const listed = await listBatchNormLayers(model);
    expect(listed).toHaveLength(1);
    expect(listed[0].name).toBe('block/inner_bn');
    expect(listed[0].params).toMatchObject({ gamma: null, beta: null, epsilon: EPSILON });
    expect(listed[0].params.movingVariance).toEqual(MOVING_VARIANCE);
  });
});
