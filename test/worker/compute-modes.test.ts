// A worker computes in threads (COMPUTE_THREADS=on, the default) or in its main thread (off):
// the same requests give the same numbers either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { explainAndPoll, type JobBody } from '../helpers/jobs.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker } from '../helpers/worker.js';

const data = fixtureData('breast-cancer');

interface Service {
  t: TestApp;
  modelId: string;
  stop(): Promise<void>;
}

async function startService(computeThreads: 'on' | 'off'): Promise<Service> {
  const t = await buildTestApp({ COMPUTE_THREADS: computeThreads, TFJS_BACKEND: 'wasm' });
  const uploaded = await uploadFixtureModel(t.app.server, 'breast-cancer');
  const worker = await startTestWorker(t);
  return {
    t,
    modelId: uploaded.body.id,
    stop: async () => {
      await worker.stop();
      await t.close();
    },
  };
}

let threads: Service;
let mainThread: Service;

beforeAll(async () => {
  threads = await startService('on');
  mainThread = await startService('off');
});

afterAll(async () => {
  await threads?.stop();
  await mainThread?.stop();
});

async function explain(service: Service, body: Record<string, unknown>): Promise<JobBody> {
  const job = await explainAndPoll(service.t.app.server, { modelId: service.modelId, ...body });
  expect(job.error).toBeNull();
  expect(job.status).toBe('completed');
  return job.result;
}

describe('COMPUTE_THREADS on and off', () => {
  it.each([
    {
      method: 'kernel_shap',
      params: { nsamples: 500, seed: 3 },
      compare: ['values', 'baseValues'],
    },
    { method: 'sampling_shap', params: { nsamples: 8, seed: 3 }, compare: ['values', 'errors'] },
    {
      method: 'lime',
      params: { numSamples: 500, numFeatures: 5, seed: 3 },
      compare: ['intercepts', 'weights', 'scores'],
    },
  ])('give the same $method numbers', async ({ method, params, compare }) => {
    const body = {
      method,
      instances: data.instances.slice(0, 3),
      background: data.background.slice(0, 40),
      params,
    };
    const [inThreads, inMain] = await Promise.all([
      explain(threads, body),
      explain(mainThread, body),
    ]);
    for (const field of compare) {
      expect(inMain[field], field).toEqual(inThreads[field]);
      expect(inMain[field], field).toBeDefined();
    }
    expect(inMain.modelEvaluations).toBe(inThreads.modelEvaluations);
  });

  it('give the same permutation importances', async () => {
    const body = {
      method: 'permutation_importance',
      instances: data.instances,
      params: { nRepeats: 4, seed: 9, labels: data.labels, metric: 'log_loss' },
    };
    const [inThreads, inMain] = await Promise.all([
      explain(threads, body),
      explain(mainThread, body),
    ]);
    expect(inMain.importances).toEqual(inThreads.importances);
    expect(inMain.baselineScore).toBe(inThreads.baselineScore);
  });
});
