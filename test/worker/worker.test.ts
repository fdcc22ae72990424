// The worker against a real queue: deleted models, non-finite outputs.
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/log/logger.js';
import type { ModelRecord } from '../../src/models/store.js';
import { runExplanation } from '../../src/worker/explanation.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData, fixtureModelDir, modelFiles } from '../helpers/fixtures.js';

let t: TestApp;
let worker: RunningWorker;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp();
  worker = startWorker({
    config: t.config,
    logger: createLogger('silent'),
    connection: createRedis(t.config, true),
    models: t.ctx.models,
    results: t.ctx.results,
  });
});

afterAll(async () => {
  await worker?.close();
  await t?.close();
});

async function explainAndWait(modelId: string) {
  const submitted = await request(t.app.server)
    .post('/v1/explanations')
    .send({
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 1),
      background: data.background.slice(0, 5),
      params: { nsamples: 64, seed: 1 },
    });
  expect(submitted.status).toBe(202);
  for (let i = 0; i < 300; i++) {
    const res = await request(t.app.server).get(submitted.headers.location);
    if (res.body.status === 'completed' || res.body.status === 'failed') return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not finish');
}

describe('the worker', () => {
  it('does not explain with a model deleted after it was loaded', async () => {
    const files = modelFiles(fixtureModelDir('breast-cancer'));
    const uploaded = await request(t.app.server)
      .post('/v1/models')
      .attach('model', Buffer.from(files.modelJson), 'model.json')
      .attach('weights', files.weights.get('weights.bin')!, 'weights.bin');
    expect((await explainAndWait(uploaded.body.id)).status).toBe('completed');

    // Queue a job, then delete the model before the worker gets to it: the job must fail.
    await worker.worker.pause();
    const pending = explainAndWait(uploaded.body.id);
    await new Promise((r) => setTimeout(r, 200));
    expect((await request(t.app.server).delete(`/v1/models/${uploaded.body.id}`)).status).toBe(204);
    worker.worker.resume();
    const job = await pending;
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
    expect(job.attempts).toBe(1);
  });
});

describe('runExplanation', () => {
  it('fails with a clear error when the model overflows to Infinity', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 1, inputShape: [2], useBias: false, kernelInitializer: 'ones' }),
      ],
    });
    const record = {
      id: 'overflow',
      featureCount: 2,
      outputCount: 1,
      inputs: [{ name: 'x', shape: [null, 2] }],
      featureNames: ['a', 'b'],
      outputNames: ['y'],
    } as unknown as ModelRecord;
    const run = runExplanation({
      payload: {
        tenant: 'default',
        modelId: 'overflow',
        method: 'kernel_shap',
        instances: [[3e38, 3e38]],
        background: [[0, 0]],
        params: { nsamples: 'auto', link: 'identity', seed: 1, outputs: 'all', l1Features: null },
      },
      cached: { record, model },
      batchRows: 100,
      sliceTargetMs: 1000,
      onProgress: async () => undefined,
    });
    await expect(run).rejects.toMatchObject({ code: 'GBX_ERR_NONFINITE_OUTPUT' });
    model.dispose();
  });
});
