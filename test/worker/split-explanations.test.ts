// A request larger than one chunk runs as chunk jobs under a parent and gives the same numbers
// as the whole request computed at once.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import type { ExplanationPayload } from '../../src/jobs/queue.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { computeWhole } from '../helpers/compute.js';
import { fixtureData } from '../helpers/fixtures.js';
import { explainAndPoll, pollJob } from '../helpers/jobs.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

let t: TestApp;
let worker: TestWorker;
let modelId: string;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp({ CHUNK_INSTANCES: '2', WORKER_CONCURRENCY: '2', TFJS_BACKEND: 'wasm' });
  worker = await startTestWorker(t);
  await worker.running.ready;
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer');
  modelId = res.body.id;
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

describe('a request split into chunk jobs', () => {
  it('gives the same values as computing the whole request at once', async () => {
    const payload: ExplanationPayload = {
      tenant: OPEN_TENANT,
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 5),
      background: data.background.slice(0, 30),
      params: { nsamples: 300, link: 'identity', seed: 1234, outputs: 'all', l1Features: null },
    };
    const { outputs: _outputs, l1Features: _l1, ...restParams } = payload.params;
    const { tenant: _tenant, ...body } = payload;
    const job = await explainAndPoll(t.app.server, { ...body, params: restParams });
    expect(job.error).toBeNull();
    expect(job.status).toBe('completed');
    expect(job.progress).toBe(1);

    // Three chunks (2 + 2 + 1 instances), each a job of its own.
    const chunkIds = [0, 1, 2].map((i) => `${job.id}-chunk-${i}`);
    for (const id of chunkIds) {
      const chunk = await request(t.app.server).get(`/v1/jobs/${id}`);
      expect(chunk.body).toMatchObject({ type: 'explanation-chunk', status: 'completed' });
    }
    const missing = await request(t.app.server).get(`/v1/jobs/${job.id}-chunk-3`);
    expect(missing.status).toBe(404);

    const expected = await computeWhole(t.ctx.models, payload);
    expect(job.result.values).toEqual(expected.values);
    expect(job.result.outputs).toEqual(expected.outputs);
    expect(job.result.baseValues).toEqual(expected.baseValues);
    expect(job.result.nsamples).toBe(expected.nsamples);
    // Each chunk evaluates the background once more than the whole request does.
    expect(job.result.modelEvaluations).toBe(expected.modelEvaluations + 2 * 30);
  });

  it.each([
    {
      method: 'sampling_shap' as const,
      api: { nsamples: 6 },
      internal: { nsamples: 6 },
      fields: ['values', 'errors', 'outputs', 'baseValues', 'nsamples'],
    },
    {
      method: 'lime' as const,
      api: { numSamples: 300, numFeatures: 4, featureSelection: 'forward_selection' },
      internal: {
        lime: {
          numSamples: 300,
          numFeatures: 4,
          featureSelection: 'forward_selection' as const,
          discretizer: 'none' as const,
          categorical: [],
        },
      },
      fields: ['intercepts', 'weights', 'scores', 'localPredictions', 'outputs', 'kernelWidth'],
    },
  ])('splits $method and gives the unsplit numbers', async ({ method, api, internal, fields }) => {
    const instances = data.instances.slice(5, 10);
    const background = data.background.slice(0, 30);
    const job = await explainAndPoll(t.app.server, {
      modelId,
      method,
      instances,
      background,
      params: { ...api, seed: 77 },
    });
    expect(job.error).toBeNull();
    expect(job.status).toBe('completed');
    const lastChunk = await request(t.app.server).get(`/v1/jobs/${job.id}-chunk-2`);
    expect(lastChunk.body).toMatchObject({ type: 'explanation-chunk', status: 'completed' });

    const payload: ExplanationPayload = {
      tenant: OPEN_TENANT,
      modelId,
      method,
      instances,
      background,
      params: {
        nsamples: 'auto',
        link: 'identity',
        seed: 77,
        outputs: 'all',
        l1Features: null,
        ...internal,
      },
    };
    const expected = await computeWhole(t.ctx.models, payload);
    for (const field of fields) expect(job.result[field], field).toEqual(expected[field]);
    expect(job.result.values?.length ?? job.result.weights.length).toBe(5);
  });

  it('leaves a request of one chunk unsplit', async () => {
    const submitted = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: data.instances.slice(0, 2),
        background: data.background.slice(0, 10),
        params: { nsamples: 100, seed: 3 },
      });
    const job = await pollJob(t.app.server, submitted.headers.location);
    expect(job.status).toBe('completed');
    const chunk = await request(t.app.server).get(`/v1/jobs/${submitted.body.id}-chunk-0`);
    expect(chunk.status).toBe(404);
  });
});
