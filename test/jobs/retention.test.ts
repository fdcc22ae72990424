// Per-job time limit and retention: a job past JOB_TIMEOUT_MS fails at once with its own code;
// finished jobs beyond JOB_RETENTION_COUNT leave the queue, and their stored results follow.
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { jobOptions } from '../../src/jobs/queue.js';
import { sweepResults } from '../../src/jobs/result-retention.js';
import { ResultStore } from '../../src/jobs/result-store.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { explainAndPoll } from '../helpers/jobs.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker } from '../helpers/worker.js';

const data = fixtureData('breast-cancer');
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function appWithWorker(env: Record<string, string>): Promise<TestApp> {
  const t = await buildTestApp(env);
  const worker = await startTestWorker(t);
  cleanups.push(() => t.close(), () => worker.stop());
  return t;
}

async function upload(t: TestApp): Promise<string> {
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer');
  expect(res.status).toBe(201);
  return res.body.id;
}

function explain(t: TestApp, modelId: string, nsamples: number, rows = 1) {
  return explainAndPoll(t.app.server, {
    modelId,
    method: 'kernel_shap',
    instances: data.instances.slice(0, rows),
    background: data.background.slice(0, 20),
    params: { nsamples, seed: 3 },
  });
}

async function storedResults(t: TestApp): Promise<string[]> {
  return (await readdir(path.join(t.config.storeDir, 'results'))).sort();
}

describe('JOB_TIMEOUT_MS', () => {
  it('fails a job that runs past it with GBX_ERR_JOB_TIMEOUT, without retrying', async () => {
    const t = await appWithWorker({ JOB_TIMEOUT_MS: '300', JOB_ATTEMPTS: '3' });
    // 8 instances at 16384 samples and 20 background rows: millions of model rows, seconds.
    const job = await explain(t, await upload(t), 16_384, 8);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('GBX_ERR_JOB_TIMEOUT');
    expect(job.error.message).toContain('JOB_TIMEOUT_MS');
    expect(job.attempts).toBe(1);
    expect(await storedResults(t)).toEqual([]);
  });
});

describe('JOB_TIMEOUT_MS on activation statistics', () => {
  it('stops the statistics job between batches once past the limit', async () => {
    // One sample per batch: thousands of model calls, well past 200 ms.
    const t = await appWithWorker({ JOB_TIMEOUT_MS: '200', ACTIVATION_BATCH_VALUES: '200' });
    const modelId = await upload(t);
    const samples = Array.from({ length: 4000 }, (_, i) => data.background[i % 20]);
    const submitted = await request(t.app.server)
      .post('/v1/activation-stats')
      .send({ modelId, samples, params: { histogramBins: 8 } });
    expect(submitted.status).toBe(202);
    let job: Record<string, any> = {};
    for (let i = 0; i < 600 && !['completed', 'failed'].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await request(t.app.server).get(submitted.headers.location)).body;
    }
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('GBX_ERR_JOB_TIMEOUT');
    expect(job.attempts).toBe(1);
  });
});

describe('retention', () => {
  it('puts JOB_RETENTION_SECONDS and JOB_RETENTION_COUNT on every job', () => {
    const config = loadConfig({ JOB_RETENTION_SECONDS: '120', JOB_RETENTION_COUNT: '7' });
    const options = jobOptions(config, 'j1');
    expect(options.removeOnComplete).toEqual({ age: 120, count: 7 });
    expect(options.removeOnFail).toEqual({ age: 120, count: 7 });
  });

  it('removes a job past the count from the queue, and the worker removes its result', async () => {
    const t = await appWithWorker({ JOB_RETENTION_COUNT: '1', RESULT_SWEEP_INTERVAL_MS: '200' });
    const modelId = await upload(t);
    const first = await explain(t, modelId, 64);
    const second = await explain(t, modelId, 64);
    expect([first.status, second.status]).toEqual(['completed', 'completed']);
    expect((await request(t.app.server).get(`/v1/jobs/${first.id}`)).status).toBe(404);
    expect((await request(t.app.server).get(`/v1/jobs/${second.id}`)).status).toBe(200);
    for (let i = 0; i < 100 && (await storedResults(t)).length > 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await storedResults(t)).toEqual([`${second.id}.json`]);
  });

  it('keeps a chunk result while its parent is held, and removes stale temporaries', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gbx-sweep-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const results = new ResultStore(dir);
    await results.init();
    for (const id of ['held', 'gone', 'parent-chunk-0', 'orphan-chunk-1']) {
      await results.write(id, { id });
    }
    // Temporaries of writes cut short by a killed worker: an hour old, and one being written now.
    const resultsDir = path.join(dir, 'results');
    await writeFile(path.join(resultsDir, 'held.json.old.tmp'), '{');
    const anHourAgo = new Date(Date.now() - 3600_000);
    await utimes(path.join(resultsDir, 'held.json.old.tmp'), anHourAgo, anHourAgo);
    await writeFile(path.join(resultsDir, 'held.json.new.tmp'), '{');
    const held = new Set(['held', 'parent']);
    const removed = await sweepResults(results, async (id) => held.has(id));
    expect(removed.sort()).toEqual(['gone', 'orphan-chunk-1']);
    expect((await readdir(resultsDir)).sort()).toEqual([
      'held.json',
      'held.json.new.tmp',
      'parent-chunk-0.json',
    ]);
  });
});
