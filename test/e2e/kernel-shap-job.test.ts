// The main path with the real processes: upload the breast-cancer fixture, explain, poll, compare.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureData, fixtureOracle } from '../helpers/fixtures.js';
import { startProcess, type ServiceProcess } from '../helpers/processes.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';
import { uploadFixtureModel } from '../helpers/upload.js';

let api: ServiceProcess;
let worker: ServiceProcess;
let baseUrl: string;
let storeDir: string;

beforeAll(async () => {
  const redisUrl = await requireRedis();
  storeDir = await mkdtemp(path.join(os.tmpdir(), 'gbx-e2e-'));
  const env = {
    REDIS_URL: redisUrl,
    STORE_DIR: storeDir,
    QUEUE_PREFIX: uniquePrefix('e2e'),
    PORT: '0',
  };
  api = startProcess('api', env);
  worker = startProcess('worker', { ...env, TFJS_BACKEND: 'wasm' });
  const listening = await api.waitFor((l) => l.msg === 'api listening');
  baseUrl = listening.address as string;
  await worker.waitFor((l) => l.msg === 'worker started');
});

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  if (storeDir) await rm(storeDir, { recursive: true, force: true });
});

async function pollUntilDone(location: string): Promise<Record<string, any>> {
  for (let i = 0; i < 600; i++) {
    const res = await request(baseUrl).get(location);
    expect(res.status).toBe(200);
    if (res.body.status === 'completed' || res.body.status === 'failed') return res.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('job did not finish in 120 s');
}

describe('KernelSHAP job through the API and a worker process', () => {
  it('explains breast-cancer instances with values close to the reference', async () => {
    const data = fixtureData('breast-cancer');
    const oracle = fixtureOracle('breast-cancer', 'kernel-shap-reference.json');
    const uploaded = await uploadFixtureModel(baseUrl, 'breast-cancer', {
      featureNames: data.featureNames,
      outputNames: data.outputNames,
    });
    expect(uploaded.status).toBe(201);

    const submitted = await request(baseUrl)
      .post('/v1/explanations')
      .send({
        modelId: uploaded.body.id,
        method: 'kernel_shap',
        instances: data.instances.slice(0, 5),
        background: data.background,
        params: { nsamples: 4096, seed: 42 },
      });
    expect(submitted.status).toBe(202);
    const job = await pollUntilDone(submitted.headers.location);
    expect(job.error).toBeNull();
    expect(job.status).toBe('completed');
    expect(job.progress).toBe(1);
    const result = job.result;
    expect(result).toMatchObject({
      method: 'kernel_shap',
      link: 'identity',
      nsamples: 4096,
      seed: 42,
    });
    expect(result.featureNames).toEqual(data.featureNames);
    expect(result.modelEvaluations).toBeGreaterThan(4096 * 100 * 5);

    // Additivity: base value plus the values of an instance give its output.
    for (let i = 0; i < 5; i++) {
      const total = result.values[i].reduce((s: number, v: number[]) => s + v[0], 0);
      expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-4);
      expect(result.outputs[i][0]).toBeCloseTo(oracle.outputs[i][0], 6);
    }

    // The reference is the mean of two 100,000-coalition runs (its own error is about 3e-4).
    // At 4096 coalitions our sampling error dominates: over seeds 1-3 it measured 2.3e-3 to
    // 2.7e-3 mean absolute, and the Python shap KernelExplainer lands 2.8e-3 away at 2108
    // coalitions. 4e-3 leaves room for seed-to-seed spread yet fails for any systematic error:
    // the mean |value| is 2e-2, so wrong weights or a missing constraint land far above it.
    let sum = 0;
    let count = 0;
    for (let i = 0; i < 5; i++) {
      for (let f = 0; f < 30; f++) {
        sum += Math.abs(result.values[i][f][0] - oracle.values[i][f][0]);
        count++;
      }
    }
    expect(sum / count).toBeLessThan(4e-3);
  });

  it('logs which TensorFlow.js backend the worker runs on', () => {
    const line = worker.lines.find((l) => l.includes('TensorFlow.js backend selected'));
    expect(JSON.parse(line!).backend).toBe('wasm');
  });
});
