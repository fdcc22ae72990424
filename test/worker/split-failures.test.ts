// A split request when one of its chunks fails an attempt, and when the request is cancelled
// while its chunks run.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import { createRedis, QUEUE_NAME, type ExplanationPayload } from '../../src/jobs/queue.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { computeWhole } from '../helpers/compute.js';
import { fixtureData } from '../helpers/fixtures.js';
import { isFinished, longKernelShapBody, pollJob, type JobBody } from '../helpers/jobs.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker } from '../helpers/worker.js';

// Small batches make a chunk take many model calls, so that it can be seen running and stopped.
const BATCH_ROWS = 500;
let t: TestApp;
let modelId: string;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp({
    CHUNK_INSTANCES: '2',
    WORKER_CONCURRENCY: '1',
    BATCH_ROWS: String(BATCH_ROWS),
    TFJS_BACKEND: 'wasm',
  });
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer');
  modelId = res.body.id;
});

afterAll(async () => t?.close());

async function listedIds(status: string): Promise<string[]> {
  const res = await request(t.app.server).get(`/v1/jobs?status=${status}&first=100`);
  expect(res.status).toBe(200);
  return res.body.items.map((job: JobBody) => job.id);
}

const chunkIds = (parentId: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${parentId}-chunk-${i}`);

async function readJob(id: string): Promise<JobBody> {
  const res = await request(t.app.server).get(`/v1/jobs/${id}`);
  expect(res.status, id).toBe(200);
  return res.body;
}

/**
 * Takes the next job off the queue as a worker would and fails its attempt, as a worker whose
 * process hit an error would; BullMQ then schedules the retry.
 * @returns the id of the job whose attempt failed.
 */
async function failOneAttempt(): Promise<string> {
  const connection = createRedis(t.config, true);
  const failing = new Worker(QUEUE_NAME, null, { connection, prefix: t.config.QUEUE_PREFIX });
  try {
    const token = randomUUID();
    const job = await failing.getNextJob(token);
    if (!job) throw new Error('no job waiting');
    await job.moveToFailed(new Error('the attempt hit an error in its worker'), token);
    return job.id as string;
  } finally {
    await failing.close();
    await connection.quit();
  }
}

describe('a chunk whose attempt fails', () => {
  it('is retried alone, and the request gives the numbers of an unsplit run', async () => {
    const payload: ExplanationPayload = {
      tenant: OPEN_TENANT,
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 5),
      background: data.background.slice(0, 30),
      params: { nsamples: 300, link: 'identity', seed: 99, outputs: 'all', l1Features: null },
    };
    // Queued with no worker running, so that the failing attempt is the first one.
    const submitted = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: payload.instances,
        background: payload.background,
        params: { nsamples: 300, seed: 99 },
      });
    expect(submitted.status).toBe(202);
    const parentId = submitted.body.id as string;
    const failedChunk = await failOneAttempt();
    expect(chunkIds(parentId, 3)).toContain(failedChunk);

    const worker = await startTestWorker(t);
    let job: JobBody;
    try {
      job = await pollJob(t.app.server, submitted.headers.location);
    } finally {
      await worker.stop();
    }
    expect(job.error).toBeNull();
    expect(job.status).toBe('completed');

    // The failed chunk ran twice; the others, and the parent's merge, once.
    for (const id of chunkIds(parentId, 3)) {
      const chunk = await readJob(id);
      expect(chunk.status, id).toBe('completed');
      expect(chunk.attempts, id).toBe(id === failedChunk ? 2 : 1);
    }
    expect(job.attempts).toBe(1);
    const chunkStarts = await Promise.all(
      chunkIds(parentId, 3).map(async (id) => (await readJob(id)).startedAt as string),
    );
    expect(job.startedAt).toBe(chunkStarts.sort()[0]);

    const expected = await computeWhole(t.ctx.models, payload);
    expect(job.result.values).toEqual(expected.values);
    expect(job.result.baseValues).toEqual(expected.baseValues);
    // Three chunks each evaluate the background once more; the failed attempt adds nothing.
    expect(job.result.modelEvaluations).toBe(expected.modelEvaluations + 2 * 30);
  });
});

describe('cancelling a split request', () => {
  it('stops the running chunk and the queued ones, and the request ends as cancelled', async () => {
    const worker = await startTestWorker(t);
    try {
      // 3 chunks of up to 2 instances, run one at a time: the request is cancelled while its
      // first chunks are running.
      const submitted = await request(t.app.server)
        .post('/v1/explanations')
        .send(longKernelShapBody(modelId, 5));
      expect(submitted.status).toBe(202);
      const parentId = submitted.body.id as string;
      const running = await pollJob(
        t.app.server,
        submitted.headers.location,
        (job) => job.status !== 'queued' && job.progress > 0,
      );
      expect(running.status).toBe('running');
      // Lists show the request as the job itself does.
      expect(await listedIds('running')).toContain(parentId);
      expect(await listedIds('queued')).not.toContain(parentId);

      const cancel = await request(t.app.server).delete(`/v1/jobs/${parentId}`);
      expect([200, 202]).toContain(cancel.status);
      const ended = await pollJob(t.app.server, submitted.headers.location, isFinished);
      expect(ended).toMatchObject({
        status: 'cancelled',
        result: null,
        error: { code: 'GBX_ERR_JOB_CANCELLED', message: `job ${parentId} was cancelled` },
      });
      expect(ended.startedAt).toBe(running.startedAt);
      expect(await t.ctx.results.read(parentId)).toBeNull();
      expect(await listedIds('cancelled')).toContain(parentId);
      expect(await listedIds('failed')).not.toContain(parentId);
      const listed = await request(t.app.server).get('/v1/jobs?type=explanation');
      const view = listed.body.items.find((j: JobBody) => j.id === parentId);
      expect(view).toMatchObject({ status: 'cancelled', error: ended.error });

      // No chunk runs to its end: each one stops at a batch or as soon as a worker takes it.
      for (const id of chunkIds(parentId, 3)) {
        const chunk = await pollJob(t.app.server, `/v1/jobs/${id}`, isFinished);
        expect(chunk.status, id).toBe('cancelled');
        expect(await t.ctx.results.read(id), id).toBeNull();
      }
      // The request's end is counted once, though every chunk ended by it.
      const counted = await worker.running.metrics.jobsFinished.get();
      const requests = counted.values.filter((v) => v.labels.type === 'explanation');
      expect(requests).toEqual([
        expect.objectContaining({ labels: { type: 'explanation', state: 'cancelled' }, value: 1 }),
      ]);
    } finally {
      await worker.stop();
    }
  });
});
