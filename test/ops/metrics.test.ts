// Metrics and logs after real jobs: an API and an in-process worker sharing one registry.
import * as tf from '@tensorflow/tfjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES, jobOptions } from '../../src/jobs/queue.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';
import { sampleValue } from '../helpers/prometheus.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

const data = fixtureData('wine');
const instance = data.instances[0];
const background = data.background.slice(0, 2);
let t: TestApp;
let log: CapturedLog;
let worker: TestWorker;
let modelId: string;
let completedJobId: string;
let metricsText: string;
let requestsSent = 0;

function send<T extends request.Test>(test: T): T {
  requestsSent++;
  return test;
}

async function waitForState(jobId: string, state: 'completed' | 'failed'): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await t.ctx.queue.getJobState(jobId)) === state) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${jobId} did not reach ${state}`);
}

beforeAll(async () => {
  const metrics = createMetrics();
  log = captureLog('info');
  t = await buildTestApp({}, { metrics, logger: log.logger });
  worker = await startTestWorker(t, { logger: log.logger, metrics });

  const upload = await send(
    uploadFixtureModel(t.app.server, 'wine', { featureNames: data.featureNames }),
  );
  expect(upload.status).toBe(201);
  modelId = upload.body.id;

  const queued = await send(
    request(t.app.server)
      .post('/v1/explanations')
      .send({ modelId, method: 'exact_shap', instances: [instance], background }),
  );
  expect(queued.status).toBe(202);
  completedJobId = queued.body.id;
  await waitForState(completedJobId, 'completed');
  expect((await send(request(t.app.server).get(`/v1/jobs/${completedJobId}`))).body.status).toBe(
    'completed',
  );

  // A job for a model that is not in the store fails at once, without retries.
  const payload = {
    modelId: 'no-such-model',
    method: 'exact_shap',
    instances: [instance],
    background,
    params: { nsamples: 'auto', link: 'identity', seed: 1 },
  };
  await t.ctx.queue.add(JOB_NAMES.EXPLANATION, payload, jobOptions(t.config, 'failing-job'));
  await waitForState('failing-job', 'failed');

  const scrape = await send(request(t.app.server).get('/metrics'));
  expect(scrape.status).toBe(200);
  expect(scrape.headers['content-type']).toContain('text/plain');
  metricsText = scrape.text;
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

describe('/metrics after one completed and one failed job', () => {
  it('counts jobs by type and final state', () => {
    const completed = { type: 'explanation', state: 'completed' };
    expect(sampleValue(metricsText, 'glassbox_jobs_total', completed)).toBe(1);
    expect(sampleValue(metricsText, 'glassbox_jobs_total', { ...completed, state: 'failed' })).toBe(
      1,
    );
  });

  it('times the completed job and counts the rows its model evaluated', () => {
    const labels = { type: 'explanation', method: 'exact_shap' };
    expect(sampleValue(metricsText, 'glassbox_job_duration_seconds_count', labels)).toBe(1);
    expect(sampleValue(metricsText, 'glassbox_job_duration_seconds_sum', labels)).toBeGreaterThan(
      0,
    );
    // By hand: the background once for the base value, the instance once for its output, and
    // every coalition of the features that differ from some background row, over the background.
    const varying = instance.filter((value, f) =>
      background.some((row) => row[f] !== value),
    ).length;
    expect(varying).toBe(13);
    const rows = background.length + 1 + 2 ** varying * background.length;
    expect(
      sampleValue(metricsText, 'glassbox_model_rows_evaluated_total', { method: 'exact_shap' }),
    ).toBe(rows);
  });

  it('reports the queue depth by state', () => {
    expect(sampleValue(metricsText, 'glassbox_queue_jobs', { state: 'completed' })).toBe(1);
    expect(sampleValue(metricsText, 'glassbox_queue_jobs', { state: 'failed' })).toBe(1);
    expect(sampleValue(metricsText, 'glassbox_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(sampleValue(metricsText, 'glassbox_queue_jobs', { state: 'active' })).toBe(0);
  });

  it('counts and times HTTP requests by route pattern and status', () => {
    const post = { method: 'POST', route: '/v1/explanations', status: '202' };
    expect(sampleValue(metricsText, 'glassbox_http_requests_total', post)).toBe(1);
    const poll = { method: 'GET', route: '/v1/jobs/:id', status: '200' };
    expect(sampleValue(metricsText, 'glassbox_http_requests_total', poll)).toBe(1);
    const upload = { method: 'POST', route: '/v1/models', status: '201' };
    expect(sampleValue(metricsText, 'glassbox_http_request_duration_seconds_count', upload)).toBe(
      1,
    );
  });

  it('names the TensorFlow.js backend and counts live tensors', () => {
    expect(sampleValue(metricsText, 'glassbox_tfjs_backend_info', { backend: 'wasm' })).toBe(1);
    expect(sampleValue(metricsText, 'glassbox_tfjs_tensors')).toBe(tf.memory().numTensors);
  });
});

describe('logs', () => {
  it('write one line per request, with its request id', () => {
    const requestLines = log.lines().filter((l) => l.msg === 'request completed');
    expect(requestLines).toHaveLength(requestsSent - 1);
    const ids = new Set(requestLines.map((l) => l.reqId));
    expect(ids.size).toBe(requestLines.length);
    expect(requestLines.find((l) => l.route === '/v1/explanations')).toMatchObject({
      method: 'POST',
      statusCode: 202,
      durationMs: expect.any(Number),
    });
  });

  it('write one line per job transition with job id, type, model id and duration', () => {
    const jobLines = (id: string) => log.lines().filter((l) => l.jobId === id);
    const submitted = jobLines(completedJobId);
    expect(submitted.map((l) => l.msg)).toEqual(['job queued', 'job started', 'job completed']);
    expect(submitted[0]).toMatchObject({ type: 'explanation', modelId, reqId: expect.any(String) });
    expect(jobLines('failing-job').map((l) => l.msg)).toEqual(['job started', 'job failed']);
    for (const [id, model] of [
      [completedJobId, modelId],
      ['failing-job', 'no-such-model'],
    ]) {
      const finished = jobLines(id).at(-1);
      expect(finished).toMatchObject({
        type: 'explanation',
        modelId: model,
        durationMs: expect.any(Number),
      });
    }
  });

  it('never carry the uploaded model or the rows sent', () => {
    const text = log.text();
    expect(text).not.toContain('weightsManifest');
    expect(text).not.toContain(JSON.stringify(instance[0]));
    expect(text).not.toContain(JSON.stringify(background[1][5]));
  });
});
