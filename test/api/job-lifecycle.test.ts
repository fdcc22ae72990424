// Real jobs run by a worker in this process: cancellation mid-run, the jobUpdated subscription,
// and one scenario through REST and GraphQL compared field by field.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { isFinished, longKernelShapBody } from '../helpers/jobs.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

// Small batches make a job take many model calls, so that it can be seen running and stopped.
const BATCH_ROWS = 500;
let t: TestApp;
let modelId: string;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp({ BATCH_ROWS: String(BATCH_ROWS) });
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer', {
    featureNames: data.featureNames,
    outputNames: data.outputNames,
    categoricalFeatures: [3, 1],
  });
  modelId = res.body.id;
});
afterAll(async () => t?.close());

async function pollUntil(
  id: string,
  done: (job: Record<string, any>) => boolean,
): Promise<Record<string, any>> {
  for (let i = 0; i < 1200; i++) {
    const res = await request(t.app.server).get(`/v1/jobs/${id}`);
    expect(res.status).toBe(200);
    if (done(res.body)) return res.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${id} did not reach the expected state in 120 s`);
}

describe('cancelling a running job', () => {
  it('stops it at its next batch and it ends as cancelled', async () => {
    const worker = await startTestWorker(t);
    try {
      const submitted = await request(t.app.server)
        .post('/v1/explanations')
        .send(longKernelShapBody(modelId, 1));
      const id = submitted.body.id;
      const running = await pollUntil(
        id,
        (job) => (job.status === 'running' && job.progress > 0) || isFinished(job),
      );
      expect(running.status).toBe('running');

      const cancel = await request(t.app.server).delete(`/v1/jobs/${id}`);
      // 202 while it runs; 200 when the worker has already stopped it by the time of the answer.
      expect([200, 202]).toContain(cancel.status);
      const ended = await pollUntil(id, isFinished);
      expect(ended).toMatchObject({
        status: 'cancelled',
        result: null,
        error: { code: 'GBX_ERR_JOB_CANCELLED' },
      });
      expect(ended.progress).toBeLessThan(0.9);
      expect(await t.ctx.results.read(id)).toBeNull();

      const again = await request(t.app.server).delete(`/v1/jobs/${id}`);
      expect(again.status).toBe(200);
    } finally {
      await worker.stop();
    }
  });

  it('refuses to cancel a completed job', async () => {
    const id = await runSmallJob();
    const res = await request(t.app.server).delete(`/v1/jobs/${id}`);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('GBX_ERR_JOB_FINISHED');
  });
});

async function runSmallJob(): Promise<string> {
  const worker = await startTestWorker(t);
  try {
    const submitted = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: [data.instances[0]],
        background: [data.background[0]],
      });
    expect((await pollUntil(submitted.body.id, isFinished)).status).toBe('completed');
    return submitted.body.id;
  } finally {
    await worker.stop();
  }
}

describe('a failure inside the service', () => {
  it('answers 500 with a catalogued code and no internal detail, in REST and GraphQL', async () => {
    const id = await runSmallJob();
    await writeFile(path.join(t.config.storeDir, 'results', `${id}.json`), '{"values": [1, 2');

    const rest = await request(t.app.server).get(`/v1/jobs/${id}`);
    expect(rest.status).toBe(500);
    expect(rest.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(rest.body).toMatchObject({ code: 'GBX_ERR_INTERNAL', status: 500 });
    expect(JSON.stringify(rest.body)).not.toMatch(/JSON|position|values|results/i);

    const graphql = await gql(t.app, 'query($id: ID!) { job(id: $id) { status } }', { id });
    expect(graphql.errors![0].extensions).toEqual({ code: 'GBX_ERR_INTERNAL' });
    expect(graphql.errors![0].message).toBe('the server failed to handle this request');
  });
});

/** Subscribes over graphql-transport-ws and collects `next` payloads until `complete`. */
async function collectSubscription(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  onFirstEvent: () => Promise<void>,
): Promise<Record<string, any>[]> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const events: Record<string, any>[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
      } else if (message.type === 'next') {
        events.push(message.payload);
        if (events.length === 1) onFirstEvent().catch(reject);
      } else if (message.type === 'complete') {
        resolve();
      } else if (message.type === 'error') {
        reject(new Error(JSON.stringify(message.payload)));
      }
    });
    socket.on('error', reject);
    setTimeout(
      () => reject(new Error(`no complete in 120 s; got ${JSON.stringify(events)}`)),
      120_000,
    );
  });
  await new Promise((resolve) => socket.on('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init' }));
  try {
    await finished;
  } finally {
    socket.close();
  }
  return events;
}

describe('GraphQL subscription jobUpdated', () => {
  it('pushes queued, running and completed events for a real job, then ends', async () => {
    const submitted = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: data.instances.slice(0, 3),
        background: data.background.slice(0, 50),
        params: { nsamples: 1000, seed: 5 },
      });
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `${address.replace('http', 'ws')}/graphql`;
    let worker: TestWorker | undefined;
    try {
      // The worker starts only once the subscription has seen the job queued.
      const events = await collectSubscription(
        url,
        'subscription($id: ID!) { jobUpdated(id: $id) { id status progress } }',
        { id: submitted.body.id },
        async () => {
          worker = await startTestWorker(t);
        },
      );
      const statuses = events.map((e) => e.data.jobUpdated.status);
      expect(statuses[0]).toBe('queued');
      expect(statuses).toContain('running');
      expect(statuses.at(-1)).toBe('completed');
      expect(events.at(-1)!.data.jobUpdated).toEqual({
        id: submitted.body.id,
        status: 'completed',
        progress: 1,
      });
      const progress = events.map((e) => e.data.jobUpdated.progress);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    } finally {
      await worker?.stop();
    }
  });
});

describe('REST and GraphQL parity', () => {
  const jobFields = `id type modelId status progress attempts createdAt startedAt finishedAt
    error { code message }
    result { ... on ShapleyResult { method featureNames outputNames link nsamples seed
      modelEvaluations computeMs baseValues outputs values warnings outputIndices errors } }`;

  it('gives the same model, job and result through both doors', async () => {
    const request_ = {
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 2),
      background: data.background.slice(0, 20),
      params: { nsamples: 300, seed: 11, link: 'identity' },
    };
    const viaRest = await request(t.app.server).post('/v1/explanations').send(request_);
    const viaGraphql = await gql(
      t.app,
      'mutation($input: ExplainInput!) { explain(input: $input) { id type status } }',
      { input: request_ },
    );
    expect(viaGraphql.errors).toBeUndefined();
    expect(viaGraphql.data!.explain).toEqual({ ...viaRest.body, id: viaGraphql.data!.explain.id });

    const worker = await startTestWorker(t);
    let restJobs: Record<string, any>[];
    try {
      restJobs = [
        await pollUntil(viaRest.body.id, isFinished),
        await pollUntil(viaGraphql.data!.explain.id, isFinished),
      ];
    } finally {
      await worker.stop();
    }
    expect(restJobs.map((j) => j.status)).toEqual(['completed', 'completed']);

    for (const restJob of restJobs) {
      const fetched = await gql(t.app, `query($id: ID!) { job(id: $id) { ${jobFields} } }`, {
        id: restJob.id,
      });
      expect(fetched.errors).toBeUndefined();
      expect(fetched.data!.job).toEqual(restJob);
    }
    const { computeMs: _a, ...restResult } = restJobs[0].result;
    const { computeMs: _b, ...graphqlResult } = restJobs[1].result;
    expect(graphqlResult).toEqual(restResult);

    const modelFields =
      `id name format task featureNames outputNames featureCount outputCount createdAt
      categoricalFeatures inputs { name shape dtype } outputs { name shape dtype }
      layers { name className }`;
    const model = await gql(t.app, `query($id: ID!) { model(id: $id) { ${modelFields} } }`, {
      id: modelId,
    });
    const restModel = (await request(t.app.server).get(`/v1/models/${modelId}`)).body;
    // GraphQL leaves out the layers' output shapes and gives absent dtypes as null.
    expect(model.data!.model).toEqual({
      ...restModel,
      outputs: restModel.outputs.map((o: object) => ({ dtype: null, ...o })),
      layers: restModel.layers.map(({ name, className }: Record<string, string>) => ({
        name,
        className,
      })),
    });
  });
});
