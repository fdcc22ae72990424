// GraphModel statistics on small graphs written here by hand in the GraphDef JSON that
// tensorflowjs_converter emits (no converted GraphModel fixture with batch normalization exists).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkArtifacts } from '../../src/models/artifacts.js';
import { loadModel } from '../../src/models/tf-model.js';
import { buildGraphProbe, graphNodes, listGraphBatchNorm } from '../../src/stats/graph-probe.js';
import { selectBackend } from '../../src/tf/backend.js';
import { randomRows } from '../helpers/models.js';
import { columnMoments, runStats } from '../helpers/stats.js';

const float = { type: 'DT_FLOAT' };
const placeholder = (name: string) => ({
  name,
  op: 'Placeholder',
  attr: { dtype: float, shape: { shape: { dim: [{ size: '-1' }, { size: '3' }] } } },
});
const constant = (name: string) => ({ name, op: 'Const', attr: { dtype: float } });

const SCALE = [1.5, 0.5, 2];
const OFFSET = [0.1, -0.2, 0];
const MEAN = [0.3, -1, 0.05];
const VARIANCE = [0.8, 0, 2.5]; // one moving variance exactly 0
const EPSILON = 0.001;
const KERNEL = [1, -1, 0.5, 2, -0.25, 1]; // [3, 2]

/** x -> FusedBatchNormV3 -> Relu -> MatMul, or with the BN already folded into the MatMul. */
function graphArtifacts(folded: boolean) {
  const weights = folded
    ? [{ name: 'dense/kernel', shape: [3, 2], values: KERNEL }]
    : [
        { name: 'bn/scale', shape: [3], values: SCALE },
        { name: 'bn/offset', shape: [3], values: OFFSET },
        { name: 'bn/mean', shape: [3], values: MEAN },
        { name: 'bn/variance', shape: [3], values: VARIANCE },
        { name: 'dense/kernel', shape: [3, 2], values: KERNEL },
      ];
  const nodes = folded
    ? [
        placeholder('x'),
        constant('dense/kernel'),
        { name: 'dense/MatMul', op: 'MatMul', input: ['x', 'dense/kernel'], attr: {} },
        { name: 'batch_normalization/batchnorm/Relu', op: 'Relu', input: ['dense/MatMul'] },
      ]
    : [
        placeholder('x'),
        ...['bn/scale', 'bn/offset', 'bn/mean', 'bn/variance', 'dense/kernel'].map(constant),
        {
          name: 'bn/FusedBatchNormV3',
          op: 'FusedBatchNormV3',
          input: ['x', 'bn/scale', 'bn/offset', 'bn/mean', 'bn/variance'],
          attr: { epsilon: { f: EPSILON }, T: float },
        },
        { name: 'relu', op: 'Relu', input: ['bn/FusedBatchNormV3'] },
        { name: 'dense/MatMul', op: 'MatMul', input: ['relu', 'dense/kernel'], attr: {} },
      ];
  const modelJson = {
    format: 'graph-model',
    modelTopology: { node: nodes, versions: { producer: 1 } },
    weightsManifest: [
      {
        paths: ['w.bin'],
        weights: weights.map(({ name, shape }) => ({ name, shape, dtype: 'float32' })),
      },
    ],
  };
  const data = Buffer.from(new Float32Array(weights.flatMap((w) => w.values)).buffer);
  return checkArtifacts(JSON.stringify(modelJson), new Map([['w.bin', data]]));
}

const rows = randomRows(50, 3, 11).map((r) => r.map((v, j) => Math.fround(v * (j + 1) + j)));

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('GraphModel statistics', () => {
  it('reports FusedBatchNorm drift and node statistics against plain-JS oracles', async () => {
    const artifacts = graphArtifacts(false);
    const model = (await loadModel(artifacts)) as tf.GraphModel;
    const before = tf.memory().numTensors;
    const probe = buildGraphProbe(model, graphNodes(artifacts.modelJson.modelTopology), () => true);
    const result = await runStats(probe, rows, { maxBatchRows: 16 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.layers.map((l) => [l.name, l.className])).toEqual([
      ['bn/FusedBatchNormV3', 'FusedBatchNormV3'],
      ['relu', 'Relu'],
      ['dense/MatMul', 'MatMul'],
    ]);

    const bn = result.layers[0].batchNorm!;
    const { mean, variance } = columnMoments(rows);
    expect(bn.epsilon).toBeCloseTo(EPSILON, 9);
    for (let c = 0; c < 3; c++) {
      const denominator = VARIANCE[c] + EPSILON;
      expect(bn.inputMean[c]).toBeCloseTo(mean[c], 9);
      expect(bn.inputVariance[c]! / variance[c]).toBeCloseTo(1, 9);
      expect(bn.shift[c]! / ((mean[c] - MEAN[c]) / Math.sqrt(denominator))).toBeCloseTo(1, 6);
      expect(bn.varianceRatio[c]! / (variance[c] / denominator)).toBeCloseTo(1, 6);
    }

    const relu = rows.map((r) =>
      r.map((x, c) =>
        Math.max(0, ((x - MEAN[c]) / Math.sqrt(VARIANCE[c] + EPSILON)) * SCALE[c] + OFFSET[c]),
      ),
    );
    const reluMoments = columnMoments(relu);
    for (let c = 0; c < 3; c++) {
      expect(result.layers[1].mean[c]! / reluMoments.mean[c]).toBeCloseTo(1, 5);
      expect(result.layers[1].zeroFraction[c]).toBe(
        relu.filter((r) => r[c] === 0).length / rows.length,
      );
    }
    expect(result.notes).toEqual([]);
    model.dispose();
  });

  it('says so when batch normalization was folded, and reports no drift', async () => {
    const artifacts = graphArtifacts(true);
    const model = (await loadModel(artifacts)) as tf.GraphModel;
    const nodes = graphNodes(artifacts.modelJson.modelTopology);
    const result = await runStats(
      buildGraphProbe(model, nodes, () => true),
      rows,
    );
    expect(result.layers.every((l) => l.batchNorm === undefined)).toBe(true);
    expect(result.batchNormSummary.layers).toBe(0);
    expect(
      result.notes.some(
        (n) => /folded/.test(n) && n.includes('batch_normalization/batchnorm/Relu'),
      ),
    ).toBe(true);
    expect(listGraphBatchNorm(model, nodes).layers).toEqual([]);
    model.dispose();
  });
});
