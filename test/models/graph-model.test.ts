// GraphModels take the same path as LayersModels: upload, describe, explain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData, fixtureOracle } from '../helpers/fixtures.js';
import { breastCancerGraphModel } from '../helpers/graph-model.js';
import { explainAndPoll } from '../helpers/jobs.js';
import { uploadModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

let t: TestApp;
let worker: TestWorker;

beforeAll(async () => {
  t = await buildTestApp();
  worker = await startTestWorker(t);
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

describe('a GraphModel', () => {
  it('is described from its graph and explained like the LayersModel it mirrors', async () => {
    const uploaded = await uploadModel(t.app.server, breastCancerGraphModel());
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({
      format: 'graph-model',
      inputs: [{ name: 'features', shape: [null, 30] }],
      featureCount: 30,
      outputCount: 1,
    });

    const data = fixtureData('breast-cancer');
    const oracle = fixtureOracle('breast-cancer', 'kernel-shap-reference.json');
    const body = {
      modelId: uploaded.body.id,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 3),
      background: data.background,
      params: { nsamples: 4096, seed: 5 },
    };
    const job = await explainAndPoll(t.app.server, body, 30_000);
    expect(job.status).toBe('completed');

    let sum = 0;
    for (let i = 0; i < 3; i++) {
      // The reference's model outputs come from NumPy: the graph computes the same network.
      expect(job.result.outputs[i][0]).toBeCloseTo(oracle.outputs[i][0], 6);
      for (let f = 0; f < 30; f++) {
        sum += Math.abs(job.result.values[i][f][0] - oracle.values[i][f][0]);
      }
    }
    // Same bound and reasoning as the LayersModel end-to-end test (4096 coalitions).
    expect(sum / 90).toBeLessThan(4e-3);
  });
});
