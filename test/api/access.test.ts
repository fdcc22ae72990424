// API keys, tenant isolation on every route, rate limits, request caps and CORS.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData, fixtureModelDir, modelFiles } from '../helpers/fixtures.js';
import { firstSubscriptionMessage } from '../helpers/graphql.js';
import { uploadModel } from '../helpers/upload.js';

const ALPHA_KEY = 'alpha-key-0123456789abcdef';
const BETA_KEY = 'beta-key-0123456789abcdef';
const KEYS = `alpha:${ALPHA_KEY},beta:${BETA_KEY}`;
const breastCancer = modelFiles(fixtureModelDir('breast-cancer'));
const data = fixtureData('breast-cancer');

const logLines: string[] = [];
let t: TestApp;
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  t = await buildTestApp(
    { API_KEYS: KEYS, MAX_INSTANCES: '5', MAX_FEATURES: '100' },
    { logger: pino({ level: 'trace' }, sink) },
  );
});
afterAll(async () => t?.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function uploadAs(app: TestApp, key: string) {
  return uploadModel(app.app.server, breastCancer).set(bearer(key));
}

function explainAs(key: string, modelId: string, overrides: Record<string, unknown> = {}) {
  return request(t.app.server)
    .post('/v1/explanations')
    .set(bearer(key))
    .send({
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 2),
      background: data.background.slice(0, 10),
      params: { nsamples: 64, seed: 1 },
      ...overrides,
    });
}

describe('API keys', () => {
  it('answers 401 without a key, with an unknown key and with another scheme', async () => {
    for (const headers of [
      {},
      bearer('not-a-configured-key-at-all'),
      { authorization: `Basic ${ALPHA_KEY}` },
    ]) {
      const res = await request(t.app.server).get('/v1/models').set(headers);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('GBX_ERR_UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="glassbox"');
    }
  });

  it('lets health probes through without a key', async () => {
    expect((await request(t.app.server).get('/health/live')).status).toBe(200);
  });

  it('never writes a key into the log', async () => {
    await request(t.app.server).get('/v1/models').set(bearer(ALPHA_KEY));
    await request(t.app.server)
      .get('/v1/models')
      .set(bearer(`${BETA_KEY}x`));
    expect(logLines.length).toBeGreaterThan(0);
    const log = logLines.join('');
    expect(log).not.toContain(ALPHA_KEY);
    expect(log).not.toContain(BETA_KEY);
  });
});

describe('tenant isolation', () => {
  let modelId: string;
  let jobId: string;
  beforeAll(async () => {
    const uploaded = await uploadAs(t, ALPHA_KEY);
    expect(uploaded.status).toBe(201);
    modelId = uploaded.body.id;
    const submitted = await explainAs(ALPHA_KEY, modelId);
    expect(submitted.status).toBe(202);
    jobId = submitted.body.id;
  });

  it('shows a model only to its tenant', async () => {
    const own = await request(t.app.server).get(`/v1/models/${modelId}`).set(bearer(ALPHA_KEY));
    expect(own.status).toBe(200);
    const other = await request(t.app.server).get(`/v1/models/${modelId}`).set(bearer(BETA_KEY));
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
  });

  it('lists only the tenant own models', async () => {
    const alpha = await request(t.app.server).get('/v1/models').set(bearer(ALPHA_KEY));
    const beta = await request(t.app.server).get('/v1/models').set(bearer(BETA_KEY));
    expect(alpha.body.items.map((m: { id: string }) => m.id)).toContain(modelId);
    expect(beta.body.items).toEqual([]);
  });

  it('refuses to explain with another tenant model, queueing nothing', async () => {
    const res = await explainAs(BETA_KEY, modelId);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
  });

  it('shows a job only to its tenant', async () => {
    expect(
      (await request(t.app.server).get(`/v1/jobs/${jobId}`).set(bearer(ALPHA_KEY))).status,
    ).toBe(200);
    const other = await request(t.app.server).get(`/v1/jobs/${jobId}`).set(bearer(BETA_KEY));
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('GBX_ERR_JOB_NOT_FOUND');
  });

  it('lets only the owner delete a model', async () => {
    expect(
      (await request(t.app.server).delete(`/v1/models/${modelId}`).set(bearer(BETA_KEY))).status,
    ).toBe(404);
    expect(
      (await request(t.app.server).get(`/v1/models/${modelId}`).set(bearer(ALPHA_KEY))).status,
    ).toBe(200);
    expect(
      (await request(t.app.server).delete(`/v1/models/${modelId}`).set(bearer(ALPHA_KEY))).status,
    ).toBe(204);
  });
});

describe('tenant isolation of datasets, job lists, cancellation and statistics', () => {
  let modelId: string;
  let jobId: string;
  let datasetId: string;
  beforeAll(async () => {
    modelId = (await uploadAs(t, ALPHA_KEY)).body.id;
    jobId = (await explainAs(ALPHA_KEY, modelId)).body.id;
    const stored = await request(t.app.server)
      .post('/v1/datasets')
      .set(bearer(ALPHA_KEY))
      .send({ rows: data.background.slice(0, 5) });
    expect(stored.status).toBe(201);
    datasetId = stored.body.id;
  });

  it('shows a dataset only to its tenant, also when an explanation names it', async () => {
    const read = (key: string) =>
      request(t.app.server).get(`/v1/datasets/${datasetId}`).set(bearer(key));
    expect((await read(ALPHA_KEY)).status).toBe(200);
    const other = await read(BETA_KEY);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('GBX_ERR_DATASET_NOT_FOUND');

    const betaModel = (await uploadAs(t, BETA_KEY)).body.id;
    const explained = await explainAs(BETA_KEY, betaModel, { background: { datasetId } });
    expect(explained.status).toBe(404);
    expect(explained.body.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
  });

  it('lists a dataset only to its tenant and lets only the owner remove it', async () => {
    const listed = async (key: string) =>
      (await request(t.app.server).get('/v1/datasets').set(bearer(key))).body.items.map(
        (d: { id: string }) => d.id,
      );
    expect(await listed(ALPHA_KEY)).toContain(datasetId);
    expect(await listed(BETA_KEY)).not.toContain(datasetId);
    const remove = (key: string) =>
      request(t.app.server).delete(`/v1/datasets/${datasetId}`).set(bearer(key));
    const refused = await remove(BETA_KEY);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
    expect(await listed(ALPHA_KEY)).toContain(datasetId);
  });

  it('lists only the tenant own jobs', async () => {
    const list = async (key: string) =>
      (await request(t.app.server).get('/v1/jobs').set(bearer(key))).body.items.map(
        (j: { id: string }) => j.id,
      );
    expect(await list(ALPHA_KEY)).toContain(jobId);
    expect(await list(BETA_KEY)).not.toContain(jobId);
  });

  it('lets only the owner cancel a job', async () => {
    const other = await request(t.app.server).delete(`/v1/jobs/${jobId}`).set(bearer(BETA_KEY));
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('GBX_ERR_JOB_NOT_FOUND');
    const own = await request(t.app.server).get(`/v1/jobs/${jobId}`).set(bearer(ALPHA_KEY));
    expect(own.body.status).toBe('queued');

    const cancelled = await request(t.app.server)
      .delete(`/v1/jobs/${jobId}`)
      .set(bearer(ALPHA_KEY));
    expect(cancelled.body.status).toBe('cancelled');
    // A cancelled job is kept apart from the queue; it stays its tenant's alone.
    const after = await request(t.app.server).get(`/v1/jobs/${jobId}`).set(bearer(BETA_KEY));
    expect(after.status).toBe(404);
    const betaList = await request(t.app.server)
      .get('/v1/jobs?status=cancelled')
      .set(bearer(BETA_KEY));
    expect(betaList.body.items).toEqual([]);
  });

  it('refuses statistics and batch-norm weights of another tenant model', async () => {
    const stats = await request(t.app.server)
      .post('/v1/activation-stats')
      .set(bearer(BETA_KEY))
      .send({ modelId, samples: data.instances.slice(0, 1) });
    expect(stats.status).toBe(404);
    expect(stats.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
    const weights = await request(t.app.server)
      .get(`/v1/models/${modelId}/batch-norm`)
      .set(bearer(BETA_KEY));
    expect(weights.status).toBe(404);
    expect(weights.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
    const own = await request(t.app.server)
      .get(`/v1/models/${modelId}/batch-norm`)
      .set(bearer(ALPHA_KEY));
    expect(own.status).toBe(200);
  });
});

describe('GraphQL acts for the key', () => {
  let modelId: string;
  beforeAll(async () => {
    modelId = (await uploadAs(t, ALPHA_KEY)).body.id;
  });

  const graphql = (key: string | null, query: string, variables: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: key ? bearer(key) : {},
      payload: { query, variables },
    });

  it('answers 401 without a key, as a GraphQL result with the REST code', async () => {
    const res = await graphql(null, '{ models { id } }', {});
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="glassbox"');
    expect(res.json().errors[0].extensions.code).toBe('GBX_ERR_UNAUTHORIZED');
  });

  it('refuses a WebSocket upgrade without a key and closes its connection', async () => {
    const own = await buildTestApp({ API_KEYS: KEYS });
    try {
      const address = await own.app.listen({ port: 0, host: '127.0.0.1' });
      const socket = new WebSocket(`${address.replace('http', 'ws')}/graphql`, 'graphql-ws');
      // The client keeps its end open: only the server closing it ends the wait.
      const refused = await new Promise<{ status?: number; closed: Promise<void> }>(
        (resolve, reject) => {
          socket.on('unexpected-response', (req, res) => {
            const closed = new Promise<void>((done, fail) => {
              req.socket?.once('close', () => done());
              setTimeout(() => fail(new Error('the server left the connection open')), 10_000);
            });
            resolve({ status: res.statusCode, closed });
          });
          socket.on('open', () => reject(new Error('upgraded without a key')));
        },
      );
      expect(refused.status).toBe(401);
      await refused.closed;
    } finally {
      await own.close();
    }
  });

  it('shows a model to its tenant only', async () => {
    const query = 'query($id: ID!) { model(id: $id) { id } }';
    const own = (await graphql(ALPHA_KEY, query, { id: modelId })).json();
    expect(own.data.model.id).toBe(modelId);
    const other = (await graphql(BETA_KEY, query, { id: modelId })).json();
    expect(other.errors[0].extensions.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
    const list = (await graphql(BETA_KEY, '{ models { id } }', {})).json();
    expect(list.data.models.map((m: { id: string }) => m.id)).not.toContain(modelId);
  });

  it('shows a dataset to its tenant only', async () => {
    const stored = await request(t.app.server)
      .post('/v1/datasets')
      .set(bearer(ALPHA_KEY))
      .send({ rows: data.background.slice(0, 3) });
    const query = 'query($id: ID!) { dataset(id: $id) { rowCount } }';
    const own = (await graphql(ALPHA_KEY, query, { id: stored.body.id })).json();
    expect(own.data.dataset.rowCount).toBe(3);
    const other = (await graphql(BETA_KEY, query, { id: stored.body.id })).json();
    expect(other.errors[0].extensions.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
  });

  it('queues an explanation and statistics for the tenant that asked', async () => {
    const explain = `mutation($input: ExplainInput!) { explain(input: $input) { id } }`;
    const input = {
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 1),
      background: data.background.slice(0, 5),
      params: { nsamples: 64, seed: 1 },
    };
    const refused = (await graphql(BETA_KEY, explain, { input })).json();
    expect(refused.errors[0].extensions.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
    const queued = (await graphql(ALPHA_KEY, explain, { input })).json();
    const id = queued.data.explain.id as string;
    const job = 'query($id: ID!) { job(id: $id) { id status } }';
    expect((await graphql(ALPHA_KEY, job, { id })).json().data.job.status).toBe('queued');
    const hidden = (await graphql(BETA_KEY, job, { id })).json();
    expect(hidden.errors[0].extensions.code).toBe('GBX_ERR_JOB_NOT_FOUND');
    const cancel = 'mutation($id: ID!) { cancelJob(id: $id) { status } }';
    const notCancelled = (await graphql(BETA_KEY, cancel, { id })).json();
    expect(notCancelled.errors[0].extensions.code).toBe('GBX_ERR_JOB_NOT_FOUND');

    const stats =
      'mutation($input: ActivationStatsInput!) { activationStats(input: $input) { id } }';
    const statsInput = { modelId, samples: data.instances.slice(0, 1) };
    const noStats = (await graphql(BETA_KEY, stats, { input: statsInput })).json();
    expect(noStats.errors[0].extensions.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
    const ownStats = (await graphql(ALPHA_KEY, stats, { input: statsInput })).json();
    expect(typeof ownStats.data.activationStats.id).toBe('string');

    // Subscriptions act for the key sent on the WebSocket upgrade.
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `${address.replace('http', 'ws')}/graphql`;
    const watch = `subscription { jobUpdated(id: "${id}") { status } }`;
    const own = await firstSubscriptionMessage(url, watch, bearer(ALPHA_KEY));
    expect(own.type).toBe('next');
    expect(own.payload.data.jobUpdated.status).toBe('queued');
    const other = await firstSubscriptionMessage(url, watch, bearer(BETA_KEY));
    expect(other.type).toBe('error');
    expect(other.payload).toEqual([
      { message: `no job with id ${id}`, extensions: { code: 'GBX_ERR_JOB_NOT_FOUND' } },
    ]);
  });
});

describe('request caps', () => {
  let modelId: string;
  beforeAll(async () => {
    modelId = (await uploadAs(t, ALPHA_KEY)).body.id;
  });

  it('names MAX_INSTANCES when a request carries more instances', async () => {
    const res = await explainAs(ALPHA_KEY, modelId, { instances: data.instances.slice(0, 6) });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'instances', message: 'over the limit MAX_INSTANCES (5 rows)' },
    ]);
  });

  it('names MAX_NSAMPLES and MAX_BACKGROUND_ROWS', async () => {
    const res = await explainAs(ALPHA_KEY, modelId, { params: { nsamples: 10_000_000 } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toContain('MAX_NSAMPLES (200000)');
    const rows = Array.from({ length: 5001 }, () => data.background[0]);
    const bg = await explainAs(ALPHA_KEY, modelId, { background: rows });
    expect(bg.body.errors[0]).toEqual({
      path: 'background',
      message: 'over the limit MAX_BACKGROUND_ROWS (5000 rows)',
    });
  });

  it('names MAX_FEATURES when the model is wider', async () => {
    const narrow = await buildTestApp({ API_KEYS: KEYS, MAX_FEATURES: '29' });
    try {
      const id = (await uploadAs(narrow, ALPHA_KEY)).body.id;
      const res = await request(narrow.app.server)
        .post('/v1/explanations')
        .set(bearer(ALPHA_KEY))
        .send({
          modelId: id,
          method: 'kernel_shap',
          instances: data.instances.slice(0, 1),
          background: data.background,
        });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].message).toBe(
        'the model has 30 features, over the limit MAX_FEATURES (29 features)',
      );
    } finally {
      await narrow.close();
    }
  });
});

describe('rate limits and CORS', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await buildTestApp({
      API_KEYS: KEYS,
      RATE_LIMIT_MAX: '3',
      CORS_ORIGINS: 'https://dash.example.com',
    });
  });
  afterAll(async () => limited?.close());

  it('answers 429 naming the limit once a key has spent it, and counts per key', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await request(limited.app.server).get('/v1/models').set(bearer(ALPHA_KEY))).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const res = await request(limited.app.server).get('/v1/models').set(bearer(ALPHA_KEY));
    expect(res.body.code).toBe('GBX_ERR_RATE_LIMITED');
    expect(res.body.detail).toMatch(
      /RATE_LIMIT_MAX \(3\) requests in RATE_LIMIT_WINDOW_MS \(60000 ms\)/,
    );
    expect(res.headers['retry-after']).toBeDefined();
    expect((await request(limited.app.server).get('/v1/models').set(bearer(BETA_KEY))).status).toBe(
      200,
    );
  });

  it('answers a preflight from a configured origin and not from others', async () => {
    const allowed = await request(limited.app.server)
      .options('/v1/models')
      .set('origin', 'https://dash.example.com')
      .set('access-control-request-method', 'GET')
      .set('access-control-request-headers', 'authorization');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://dash.example.com');
    const other = await request(limited.app.server)
      .options('/v1/models')
      .set('origin', 'https://evil.example.com')
      .set('access-control-request-method', 'GET');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
