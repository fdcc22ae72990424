// Batched prediction on a real model: outputs match the NumPy reference, no tensor outlives a run.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { toBackground, type EvaluationContext } from '../../src/explain/coalition-values.js';
import { kernelShap } from '../../src/explain/kernel-shap.js';
import { checkArtifacts } from '../../src/models/artifacts.js';
import { loadModel, predictRows, type LoadedModel } from '../../src/models/tf-model.js';
import { selectBackend } from '../../src/tf/backend.js';
import { fixtureData, fixtureModelDir, fixtureOracle, modelFiles } from '../helpers/fixtures.js';

let model: LoadedModel;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  await selectBackend('wasm');
  const files = modelFiles(fixtureModelDir('breast-cancer'));
  model = await loadModel(checkArtifacts(files.modelJson, files.weights));
});

describe('predictRows', () => {
  it('matches the reference outputs for many rows in one call', async () => {
    const oracle = fixtureOracle('breast-cancer', 'kernel-shap-reference.json');
    // 20 instances repeated past 32 rows, where LayersModel.predict would otherwise split.
    const rows = Array.from({ length: 100 }, (_, r) => data.instances[r % 20]);
    const out = await predictRows(model, [null, 30], Float32Array.from(rows.flat()), rows.length);
    expect(out).toHaveLength(100);
    out.forEach((value, r) => expect(value).toBeCloseTo(oracle.outputs[r % 20][0], 6));
  });

  it('leaves the tensor count as it found it after a KernelSHAP run', async () => {
    const before = tf.memory().numTensors;
    const ctx: EvaluationContext = {
      evaluate: (rows, count) => predictRows(model, [null, 30], rows, count),
      outputCount: 1,
      link: 'logit',
      batchRows: 5000,
      modelEvaluations: 0,
    };
    await kernelShap(ctx, data.instances.slice(0, 2), toBackground(data.background.slice(0, 20)), {
      nsamples: 500,
      seed: 1,
    });
    expect(ctx.modelEvaluations).toBeGreaterThan(500 * 20);
    expect(tf.memory().numTensors).toBe(before);
  });
});
