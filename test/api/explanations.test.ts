import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { uploadFixtureModel } from '../helpers/upload.js';

let t: TestApp;
let modelId: string;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp({ MAX_JOB_ROWS: '100000000' });
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer', {
    featureNames: data.featureNames,
  });
  modelId = res.body.id;
});
afterAll(async () => t?.close());

function explain(body: unknown) {
  return request(t.app.server)
    .post('/v1/explanations')
    .send(body as object);
}

async function queuedCount(): Promise<number> {
  return t.ctx.queue.count();
}

describe('POST /v1/explanations', () => {
  it('queues a job and points at it', async () => {
    const res = await explain({
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 2),
      background: data.background.slice(0, 10),
      params: { nsamples: 100, seed: 3 },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ type: 'explanation', status: 'queued' });
    expect(res.headers.location).toBe(`/v1/jobs/${res.body.id}`);
    const job = await request(t.app.server).get(res.headers.location);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: res.body.id,
      status: 'queued',
      progress: 0,
      result: null,
    });
  });

  it('accepts rows keyed by feature name', async () => {
    const keyed = Object.fromEntries(data.featureNames.map((n, i) => [n, data.instances[0][i]]));
    const res = await explain({
      modelId,
      method: 'kernel_shap',
      instances: [keyed],
      background: [keyed],
    });
    expect(res.status).toBe(202);
  });

  it('names every bad field and queues nothing', async () => {
    const before = await queuedCount();
    const res = await explain({
      modelId,
      method: 'kernel_shp',
      instances: [],
      background: [[1, 'x']],
      params: { nsamples: 1, link: 'probit', extra: true },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
    const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(
      ['instances', 'method', 'params', 'params.link', 'params.nsamples'].sort(),
    );
    expect(await queuedCount()).toBe(before);
  });

  it('rejects rows of the wrong width and unknown feature names before queueing', async () => {
    const before = await queuedCount();
    const res = await explain({
      modelId,
      method: 'kernel_shap',
      instances: [data.instances[0].slice(1)],
      background: [{ 'mean radius': 1, 'not a feature': 2 }],
    });
    expect(res.status).toBe(400);
    const paths: string[] = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toContain('instances.0');
    expect(paths).toContain('background.0.not a feature');
    expect(paths).toContain('background.0.mean texture');
    expect(await queuedCount()).toBe(before);
  });

  it('names the row and column of null, text and out-of-range cells', async () => {
    const row: unknown[] = [...data.instances[0]];
    row[4] = null;
    row[7] = '1.5';
    const keyed = Object.fromEntries(data.featureNames.map((n, i) => [n, data.instances[0][i]]));
    keyed['mean area'] = 1e39;
    const res = await explain({
      modelId,
      method: 'kernel_shap',
      instances: [row],
      background: [keyed],
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'instances.0.4', message: 'must be a finite number (got null)' },
      { path: 'instances.0.7', message: 'must be a finite number (got "1.5")' },
      {
        path: 'background.0.mean area',
        message: '1e+39 is beyond the float32 range of model inputs',
      },
    ]);
  });

  it('refuses a request whose model evaluations exceed MAX_JOB_ROWS', async () => {
    const before = await queuedCount();
    const res = await explain({
      modelId,
      method: 'kernel_shap',
      instances: data.instances,
      background: data.background,
      params: { nsamples: 200_000 },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('params.nsamples');
    expect(res.body.errors[0].message).toMatch(/MAX_JOB_ROWS/);
    expect(await queuedCount()).toBe(before);
  });

  it('returns 404 for an unknown model', async () => {
    const res = await explain({
      modelId: 'missing',
      method: 'kernel_shap',
      instances: [data.instances[0]],
      background: [data.background[0]],
    });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
  });

  it('refuses exact_shap on 30 features, pointing at kernel_shap', async () => {
    const res = await explain({
      modelId,
      method: 'exact_shap',
      instances: [data.instances[0]],
      background: [data.background[0]],
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ path: 'method' });
    expect(res.body.errors[0].message).toMatch(/kernel_shap or sampling_shap/);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await request(t.app.server)
      .post('/v1/explanations')
      .set('content-type', 'application/json')
      .send('{"modelId":');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
  });
});

describe('POST /v1/explanations content types', () => {
  it('answers 415 for a body that is not application/json', async () => {
    const res = await request(t.app.server)
      .post('/v1/explanations')
      .set('content-type', 'text/plain')
      .send(JSON.stringify({ modelId }));
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('GBX_ERR_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('GET /v1/jobs/:id', () => {
  it('returns 404 for an unknown job', async () => {
    const res = await request(t.app.server).get('/v1/jobs/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_JOB_NOT_FOUND');
  });
});

describe('POST /v1/explanations, method options', () => {
  it('accepts sampling_shap with chosen outputs', async () => {
    const res = await explain({
      modelId,
      method: 'sampling_shap',
      instances: [data.instances[0]],
      background: data.background.slice(0, 5),
      params: { nsamples: 10, seed: 1, outputs: 'top' },
    });
    expect(res.status).toBe(202);
  });

  it('takes l1Reg as num_features(k) for kernel_shap only', async () => {
    const body = {
      modelId,
      instances: [data.instances[0]],
      background: data.background.slice(0, 5),
      params: { l1Reg: 'num_features(5)' },
    };
    const kernel = await explain({ ...body, method: 'kernel_shap' });
    expect(kernel.status).toBe(202);
    const job = await t.ctx.queue.getJob(kernel.body.id);
    expect(job?.data.params.l1Features).toBe(5);
    const sampling = await explain({ ...body, method: 'sampling_shap' });
    expect(sampling.status).toBe(400);
    expect(sampling.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.l1Reg']);
    const malformed = await explain({ ...body, method: 'kernel_shap', params: { l1Reg: 'aic' } });
    expect(malformed.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.l1Reg']);
  });

  it('says what nsamples and feature references take', async () => {
    const body = {
      modelId,
      instances: [data.instances[0]],
      background: data.background.slice(0, 5),
    };
    const nsamplesRule = 'must be "auto" or an integer from 2 up to the limit MAX_NSAMPLES';
    for (const nsamples of ['lots', 2.5]) {
      const res = await explain({ ...body, method: 'kernel_shap', params: { nsamples } });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('params.nsamples');
      expect(res.body.errors[0].message).toContain(nsamplesRule);
    }
    const lime = await explain({ ...body, method: 'lime', params: { categorical: [1.5] } });
    expect(lime.body.errors).toEqual([
      {
        path: 'params.categorical.0',
        message: 'must be a feature name or a feature index (an integer from 0)',
      },
    ]);
  });

  it('refuses to select more features than the model has', async () => {
    const before = await queuedCount();
    const body = {
      modelId,
      instances: [data.instances[0]],
      background: data.background.slice(0, 5),
    };
    const l1 = await explain({
      ...body,
      method: 'kernel_shap',
      params: { l1Reg: 'num_features(31)' },
    });
    expect(l1.status).toBe(400);
    expect(l1.body.errors).toEqual([
      { path: 'params.l1Reg', message: 'asks for 31 features; the model has 30' },
    ]);
    const lime = await explain({ ...body, method: 'lime', params: { numFeatures: 31 } });
    expect(lime.status).toBe(400);
    expect(lime.body.errors).toEqual([
      { path: 'params.numFeatures', message: 'is 31; the model has 30 features' },
    ]);
    const all = await explain({ ...body, method: 'lime', params: { numFeatures: 30 } });
    expect(all.status).toBe(202);
    expect(await queuedCount()).toBe(before + 1);
  });

  it('names an output index the model does not have', async () => {
    const before = await queuedCount();
    const res = await explain({
      modelId,
      method: 'kernel_shap',
      instances: [data.instances[0]],
      background: [data.background[0]],
      params: { outputs: [0, 1] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.outputs.1']);
    expect(await queuedCount()).toBe(before);
  });

  it('allows exact_shap up to EXACT_SHAP_MAX_FEATURES', async () => {
    const wide = await buildTestApp({
      EXACT_SHAP_MAX_FEATURES: '30',
      MAX_JOB_ROWS: '10000000000',
    });
    try {
      const uploaded = await uploadFixtureModel(wide.app.server, 'breast-cancer');
      const res = await request(wide.app.server)
        .post('/v1/explanations')
        .send({
          modelId: uploaded.body.id,
          method: 'exact_shap',
          instances: [data.instances[0]],
          background: [data.background[0]],
        });
      expect(res.status).toBe(202);
    } finally {
      await wide.close();
    }
  });
});

describe('POST /v1/explanations, lime and permutation importance', () => {
  it('accepts lime with its options and permutation importance without a background', async () => {
    const limeRes = await explain({
      modelId,
      method: 'lime',
      instances: [data.instances[0]],
      background: data.background.slice(0, 20),
      params: {
        numSamples: 100,
        numFeatures: 3,
        featureSelection: 'lasso_path',
        discretizer: 'quartile',
      },
    });
    expect(limeRes.status).toBe(202);
    const permRes = await explain({
      modelId,
      method: 'permutation_importance',
      instances: data.instances.slice(0, 4),
      params: {
        labels: data.labels.slice(0, 4),
        metric: 'log_loss',
        nRepeats: 2,
        groups: [['mean radius', 'mean perimeter'], [3]],
      },
    });
    expect(permRes.status).toBe(202);
  });

  it('names missing labels, unknown group features and a missing background', async () => {
    const before = await queuedCount();
    const res = await explain({
      modelId,
      method: 'permutation_importance',
      instances: data.instances.slice(0, 2),
      params: { metric: 'accuracy', groups: [['mean radius', 'no such feature']] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'params.groups.0.1',
      'params.labels',
    ]);
    const shap = await explain({
      modelId,
      method: 'sampling_shap',
      instances: [data.instances[0]],
    });
    expect(shap.status).toBe(400);
    expect(shap.body.errors.map((e: { path: string }) => e.path)).toEqual(['background']);
    const labels = await explain({
      modelId,
      method: 'permutation_importance',
      instances: data.instances.slice(0, 2),
      params: { labels: [0, 2], metric: 'accuracy' },
    });
    expect(labels.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.labels.1']);
    expect(await queuedCount()).toBe(before);
  });
});
