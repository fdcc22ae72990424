// The compute threads give the same numbers as computing in the calling thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplanationPayload } from '../../src/jobs/queue.js';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import { createLogger } from '../../src/log/logger.js';
import { selectBackend } from '../../src/tf/backend.js';
import { createLocalCompute } from '../../src/worker/compute.js';
import { createComputePool, type ComputePool } from '../../src/worker/compute-pool.js';
import { fixtureData } from '../helpers/fixtures.js';
import { storeFixtureModels, type FixtureStore } from '../helpers/model-store.js';

let fixtures: FixtureStore;
let pool: ComputePool;
const settings = { batchRows: 8192, cacheBytes: 1024 * 1024 };

beforeAll(async () => {
  await selectBackend('wasm');
  fixtures = await storeFixtureModels(['breast-cancer', 'wine']);
  pool = createComputePool({
    ...settings,
    size: 2,
    backend: 'wasm',
    storeDir: fixtures.dir,
    logger: createLogger('silent'),
  });
  await pool.ready;
});

afterAll(async () => {
  await pool?.close();
  await fixtures?.remove();
});

function payload(name: string, method: ExplanationPayload['method'], nsamples: number | 'auto') {
  const data = fixtureData(name);
  return {
    tenant: OPEN_TENANT,
    modelId: fixtures.ids[name],
    method,
    instances: data.instances.slice(0, 3),
    background: data.background.slice(0, 20),
    params: { nsamples, link: 'identity', seed: 11, outputs: 'all', l1Features: null },
  } satisfies ExplanationPayload;
}

describe('compute pool', () => {
  it('starts one thread per slot on the configured backend', async () => {
    expect(await pool.ready).toEqual(['wasm', 'wasm']);
  });

  it('gives the same values as computing in this thread', async () => {
    const local = createLocalCompute(fixtures.store, settings);
    for (const job of [
      payload('breast-cancer', 'kernel_shap', 500),
      payload('wine', 'exact_shap', 'auto'),
    ]) {
      const progress: number[] = [];
      const threaded = await pool.explain(job, (f) => progress.push(f));
      const inProcess = await local.explain(job, () => undefined);
      expect(threaded.result.values).toEqual(inProcess.result.values);
      expect(threaded.result.outputs).toEqual(inProcess.result.outputs);
      expect(threaded.result.baseValues).toEqual(inProcess.result.baseValues);
      expect(threaded.result.modelEvaluations).toBe(inProcess.result.modelEvaluations);
      expect(threaded.tensorDelta).toBe(0);
      expect(progress.length).toBeGreaterThan(0);
    }
    await local.close();
  });

  it('runs two jobs at once and keeps each thread free of leaked tensors', async () => {
    const jobs = [
      payload('breast-cancer', 'kernel_shap', 200),
      payload('wine', 'kernel_shap', 200),
    ];
    const outcomes = await Promise.all(jobs.map((job) => pool.explain(job, () => undefined)));
    expect(outcomes.map((o) => (o.result.values as unknown[]).length)).toEqual([3, 3]);
    const memory = await pool.memory();
    expect(memory).toHaveLength(2);
    for (const thread of memory) expect(thread.numTensors).toBeGreaterThan(0);
  });

  it('reports a missing model with its code from inside the thread', async () => {
    const job = { ...payload('wine', 'kernel_shap', 100), modelId: 'no-such-model' };
    await expect(pool.explain(job, () => undefined)).rejects.toMatchObject({
      code: 'GBX_ERR_MODEL_NOT_FOUND',
    });
  });
});

describe('compute pool before its threads are up', () => {
  it('holds a job that arrives early and runs it once a thread is ready', async () => {
    const early = createComputePool({
      ...settings,
      size: 1,
      backend: 'wasm',
      storeDir: fixtures.dir,
      logger: createLogger('silent'),
    });
    try {
      const outcome = await early.explain(payload('wine', 'kernel_shap', 100), () => undefined);
      expect(outcome.result.values).toHaveLength(3);
    } finally {
      await early.close();
    }
  });
});
