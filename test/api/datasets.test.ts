import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { uploadFixtureModel } from '../helpers/upload.js';

let t: TestApp;
let modelId: string;
const data = fixtureData('wine');

beforeAll(async () => {
  t = await buildTestApp();
  const res = await uploadFixtureModel(t.app.server, 'wine', { featureNames: data.featureNames });
  modelId = res.body.id;
});
afterAll(async () => t?.close());

const csv = (rows: (number | string)[][], names = data.featureNames) =>
  [names.join(','), ...rows.map((r) => r.join(','))].join('\n');

describe('POST /v1/datasets', () => {
  it('stores JSON rows and returns them by id', async () => {
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .send({ name: 'wine background', featureNames: data.featureNames, rows: data.background });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'wine background', rowCount: 100, columnCount: 13 });
    expect(res.body.rows).toBeUndefined();
    const read = await request(t.app.server).get(res.headers.location);
    expect(read.status).toBe(200);
    expect(read.body.rows).toEqual(data.background);
  });

  it('stores CSV with a header row', async () => {
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv')
      .send(csv(data.background.slice(0, 3)));
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('dataset');
    const read = await request(t.app.server).get(`/v1/datasets/${res.body.id}`);
    expect(read.body.featureNames).toEqual(data.featureNames);
    expect(read.body.rows).toEqual(data.background.slice(0, 3));
  });

  it('names empty and text cells and short rows by row and column', async () => {
    const rows: (number | string)[][] = data.background.slice(0, 3).map((r) => [...r]);
    rows[1][2] = '';
    rows[2][0] = 'abc';
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv')
      .send(csv(rows));
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(
      [`rows.1.${data.featureNames[2]}`, `rows.2.${data.featureNames[0]}`].sort(),
    );
    const messages = Object.fromEntries(
      res.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]),
    );
    expect(messages[`rows.1.${data.featureNames[2]}`]).toBe(
      'must be a finite number; got an empty cell',
    );
    expect(messages[`rows.2.${data.featureNames[0]}`]).toBe('must be a finite number; got "abc"');
    const json = await request(t.app.server)
      .post('/v1/datasets')
      .send({
        rows: [
          [1, 2, 3],
          [1, null],
        ],
      });
    expect(json.body.errors.map((e: { path: string }) => e.path)).toEqual(['rows.1', 'rows.1.1']);
    expect(json.body.errors[1].message).toBe('must be a finite number; got null');
  });

  it('names a CSV dataset from the name query parameter', async () => {
    const res = await request(t.app.server)
      .post('/v1/datasets?name=serving%20rows')
      .set('content-type', 'text/csv')
      .send(csv(data.background.slice(0, 2)));
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('serving rows');
    const long = await request(t.app.server)
      .post(`/v1/datasets?name=${'x'.repeat(201)}`)
      .set('content-type', 'text/csv')
      .send(csv(data.background.slice(0, 2)));
    expect(long.status).toBe(400);
    expect(long.body.errors[0].path).toBe('name');
  });

  it('answers 404 for an unknown dataset', async () => {
    const res = await request(t.app.server).get('/v1/datasets/missing');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
  });
});

describe('listing and removing datasets', () => {
  it('lists datasets oldest first without rows, and removes one for good', async () => {
    const store = (name: string) =>
      request(t.app.server)
        .post('/v1/datasets')
        .send({ name, rows: data.background.slice(0, 2) });
    const first = (await store('first')).body;
    const second = (await store('second')).body;
    const listed = await request(t.app.server).get('/v1/datasets');
    expect(listed.status).toBe(200);
    const ids = listed.body.items.map((d: { id: string }) => d.id);
    expect(ids.indexOf(first.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(second.id)).toBeGreaterThan(ids.indexOf(first.id));
    const listedSecond = listed.body.items.find((d: { id: string }) => d.id === second.id);
    expect(listedSecond).toEqual(second);
    expect(listedSecond.rows).toBeUndefined();

    const removed = await request(t.app.server).delete(`/v1/datasets/${first.id}`);
    expect(removed.status).toBe(204);
    expect((await request(t.app.server).get(`/v1/datasets/${first.id}`)).status).toBe(404);
    const after = await request(t.app.server).get('/v1/datasets');
    expect(after.body.items.map((d: { id: string }) => d.id)).not.toContain(first.id);
    expect(after.body.items.map((d: { id: string }) => d.id)).toContain(second.id);
    const again = await request(t.app.server).delete(`/v1/datasets/${first.id}`);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
  });
});

describe('POST /v1/explanations with a stored background', () => {
  it('queues a job naming a dataset, its rows in the model feature order', async () => {
    const reversed = [...data.featureNames].reverse();
    const rows = data.background.slice(0, 5).map((r) => [...r].reverse());
    const stored = await request(t.app.server)
      .post('/v1/datasets')
      .send({ featureNames: reversed, rows });
    const res = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: [data.instances[0]],
        background: { datasetId: stored.body.id },
        params: { seed: 1, background: { summarize: 'kmeans', size: 3 } },
      });
    expect(res.status).toBe(202);
    const job = await t.ctx.queue.getJob(res.body.id);
    expect(job?.data.background).toEqual(data.background.slice(0, 5));
    expect(job?.data.params.backgroundSummary).toEqual({ summarize: 'kmeans', size: 3 });

    // The job holds its own copy of the rows: removing the dataset leaves it whole.
    expect((await request(t.app.server).delete(`/v1/datasets/${stored.body.id}`)).status).toBe(204);
    const kept = await t.ctx.queue.getJob(res.body.id);
    expect(kept?.data.background).toEqual(data.background.slice(0, 5));
  });

  it('answers 404 for an unknown dataset and 400 for a summary LIME cannot use', async () => {
    const missing = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: [data.instances[0]],
        background: { datasetId: 'nope' },
      });
    expect(missing.status).toBe(404);
    const lime = await request(t.app.server)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'lime',
        instances: [data.instances[0]],
        background: data.background,
        params: { background: { summarize: 'sample', size: 10 } },
      });
    expect(lime.status).toBe(400);
    expect(lime.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.background']);
  });
});
