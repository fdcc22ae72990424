// GraphModels take the same path as LayersModels: upload, describe, explain.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/log/logger.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData, fixtureOracle } from '../helpers/fixtures.js';
import { breastCancerGraphModel } from '../helpers/graph-model.js';
import { isDone, pollJob } from '../helpers/jobs.js';

let t: TestApp;
let worker: RunningWorker;

beforeAll(async () => {
  t = await buildTestApp();
  const connection = createRedis(t.config, true);
  worker = startWorker({
    config: t.config,
    logger: createLogger('silent'),
    connection,
    models: t.ctx.models,
    results: t.ctx.results,
  });
});

afterAll(async () => {
  await worker?.close();
  await t?.close();
});

describe('a GraphModel', () => {
  it('is described from its graph and explained like the LayersModel it mirrors', async () => {
    const files = breastCancerGraphModel();
    const uploaded = await request(t.app.server)
      .post('/v1/models')
      .attach('model', Buffer.from(files.modelJson), 'model.json')
      .attach('weights', files.weights.get('weights.bin')!, 'weights.bin');
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({
      format: 'graph-model',
      inputs: [{ name: 'features', shape: [null, 30] }],
      featureCount: 30,
      outputCount: 1,
    });

    const data = fixtureData('breast-cancer');
    const oracle = fixtureOracle('breast-cancer', 'kernel-shap-reference.json');
    const submitted = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId: uploaded.body.id,
        method: 'kernel_shap',
        instances: data.instances.slice(0, 3),
        background: data.background,
        params: { nsamples: 4096, seed: 5 },
      });
    expect(submitted.status).toBe(202);
    const job = await pollJob(t.app.server, submitted.headers.location, isDone, 30_000);
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
