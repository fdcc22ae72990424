import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { uploadFixtureModel } from '../helpers/upload.js';

// No worker runs here: every job stays queued.
let t: TestApp;
const data = fixtureData('breast-cancer');

async function uploadModel(): Promise<string> {
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer');
  return res.body.id;
}

async function queueJob(modelId: string): Promise<string> {
  const res = await request(t.app.server)
    .post('/v1/explanations')
    .send({
      modelId,
      method: 'kernel_shap',
      instances: [data.instances[0]],
      background: [data.background[0]],
    });
  expect(res.status).toBe(202);
  // Distinct creation times make "newest first" a known order.
  await new Promise((resolve) => setTimeout(resolve, 5));
  return res.body.id;
}

let modelA: string;
let modelB: string;
const jobsOfA: string[] = [];
let jobOfB: string;

beforeAll(async () => {
  t = await buildTestApp();
  modelA = await uploadModel();
  modelB = await uploadModel();
  for (let i = 0; i < 3; i++) jobsOfA.push(await queueJob(modelA));
  jobOfB = await queueJob(modelB);
});
afterAll(async () => t?.close());

describe('GET /v1/jobs', () => {
  it("pages through one model's jobs newest first", async () => {
    const first = await request(t.app.server).get('/v1/jobs').query({ modelId: modelA, first: 2 });
    expect(first.status).toBe(200);
    expect(first.body.items.map((j: { id: string }) => j.id)).toEqual([jobsOfA[2], jobsOfA[1]]);
    expect(first.body.items[0]).not.toHaveProperty('result');
    expect(first.body.nextCursor).toEqual(expect.any(String));

    const second = await request(t.app.server)
      .get('/v1/jobs')
      .query({ modelId: modelA, first: 2, after: first.body.nextCursor });
    expect(second.body.items.map((j: { id: string }) => j.id)).toEqual([jobsOfA[0]]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('filters by status and type', async () => {
    const queued = await request(t.app.server)
      .get('/v1/jobs')
      .query({ status: 'queued', type: 'explanation' });
    expect(queued.body.items.map((j: { id: string }) => j.id)).toEqual(
      expect.arrayContaining([...jobsOfA, jobOfB]),
    );
    const completed = await request(t.app.server).get('/v1/jobs').query({ status: 'completed' });
    expect(completed.body.items).toEqual([]);
    const otherType = await request(t.app.server)
      .get('/v1/jobs')
      .query({ type: 'activation_stats' });
    expect(otherType.body.items).toEqual([]);
  });

  it('names each bad filter', async () => {
    const res = await request(t.app.server)
      .get('/v1/jobs')
      .query({ status: 'done', first: 0, after: 'not-a-cursor', colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'colour',
      'first',
      'status',
    ]);
    const cursor = await request(t.app.server).get('/v1/jobs').query({ after: 'not-a-cursor' });
    expect(cursor.body.errors).toEqual([
      { path: 'after', message: 'not a cursor this service issued' },
    ]);
  });
});

describe('GET /v1/jobs/:id with If-None-Match', () => {
  it('answers 304 while the job is unchanged and 200 once it changes', async () => {
    const id = await queueJob(modelA);
    const first = await request(t.app.server).get(`/v1/jobs/${id}`);
    expect(first.status).toBe(200);
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    const again = await request(t.app.server).get(`/v1/jobs/${id}`).set('if-none-match', etag);
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    const listed = await request(t.app.server)
      .get(`/v1/jobs/${id}`)
      .set('if-none-match', `"x", W/${etag}`);
    expect(listed.status).toBe(304);

    await request(t.app.server).delete(`/v1/jobs/${id}`);
    const changed = await request(t.app.server).get(`/v1/jobs/${id}`).set('if-none-match', etag);
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});

describe('DELETE /v1/jobs/:id', () => {
  it('removes a queued job, which then reads as cancelled', async () => {
    const id = await queueJob(modelB);
    const res = await request(t.app.server).delete(`/v1/jobs/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'cancelled', modelId: modelB, result: null });
    expect(res.body.error.code).toBe('GBX_ERR_JOB_CANCELLED');
    expect(await t.ctx.queue.getJob(id)).toBeUndefined();

    const polled = await request(t.app.server).get(`/v1/jobs/${id}`);
    expect(polled.body).toMatchObject({ id, status: 'cancelled' });
    const listed = await request(t.app.server)
      .get('/v1/jobs')
      .query({ status: 'cancelled', modelId: modelB });
    expect(listed.body.items.map((j: { id: string }) => j.id)).toEqual([id]);
    const queued = await request(t.app.server)
      .get('/v1/jobs')
      .query({ status: 'queued', modelId: modelB });
    expect(queued.body.items.map((j: { id: string }) => j.id)).toEqual([jobOfB]);

    expect((await request(t.app.server).delete(`/v1/jobs/${id}`)).status).toBe(200);
  });

  it('returns 404 for an unknown job', async () => {
    const res = await request(t.app.server).delete('/v1/jobs/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_JOB_NOT_FOUND');
  });
});
