// The worker against a real queue: deleted models, non-finite outputs.
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRecord } from '../../src/models/store.js';
import { runExplanation } from '../../src/worker/explanation.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { explainAndPoll } from '../helpers/jobs.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

let t: TestApp;
let worker: TestWorker;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp();
  worker = await startTestWorker(t);
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

function explainAndWait(modelId: string) {
  const body = {
    modelId,
    method: 'kernel_shap',
    instances: data.instances.slice(0, 1),
    background: data.background.slice(0, 5),
    params: { nsamples: 64, seed: 1 },
  };
  return explainAndPoll(t.app.server, body, 30_000);
}

describe('the worker', () => {
  it('does not explain with a model deleted after it was loaded', async () => {
    const uploaded = await uploadFixtureModel(t.app.server, 'breast-cancer');
    expect((await explainAndWait(uploaded.body.id)).status).toBe('completed');

    // Queue a job, then delete the model before the worker gets to it: the job must fail.
    await worker.running.worker.pause();
    const pending = explainAndWait(uploaded.body.id);
    await new Promise((r) => setTimeout(r, 200));
    expect((await request(t.app.server).delete(`/v1/models/${uploaded.body.id}`)).status).toBe(204);
    worker.running.worker.resume();
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
