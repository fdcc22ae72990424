// Readiness: false when Redis is gone, when the store cannot be written, or when the worker's
// backend is not the one it selected; liveness stays true throughout.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createJobQueue, createRedis } from '../../src/jobs/queue.js';
import { ResultStore } from '../../src/jobs/result-store.js';
import { createLogger } from '../../src/log/logger.js';
import { ModelStore } from '../../src/models/store.js';
import { backendLoaded, redisAnswers, storeWritable } from '../../src/ops/health.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { buildWorkerOpsApp } from '../../src/ops/worker-server.js';
import { selectBackend } from '../../src/tf/backend.js';
import { buildTestApp } from '../helpers/app.js';
import { uniquePrefix } from '../helpers/redis.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('API readiness', () => {
  it('is ready when Redis answers and the store takes writes', async () => {
    const t = await buildTestApp();
    cleanups.push(() => t.close());
    const res = await request(t.app.server).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { redis: 'ok', store: 'ok' } });
  });

  it('is not ready when Redis does not answer, while live and /metrics still answer', async () => {
    // Port 1 on the loopback: nothing listens there, so every connection is refused.
    const storeDir = await mkdtemp(path.join(os.tmpdir(), 'gbx-store-'));
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:1',
      QUEUE_PREFIX: uniquePrefix('down'),
      STORE_DIR: storeDir,
    });
    const redis = createRedis(config, false);
    redis.on('error', () => undefined);
    const queue = createJobQueue(config, redis);
    queue.on('error', () => undefined);
    await selectBackend('wasm');
    const models = new ModelStore(config.storeDir);
    const results = new ResultStore(config.storeDir);
    await models.init();
    await results.init();
    const app = await buildApp({
      ctx: { config, models, results, queue, redis },
      logger: createLogger('silent'),
    });
    await app.ready();
    cleanups.push(async () => {
      await app.close();
      redis.disconnect();
      await rm(storeDir, { recursive: true, force: true });
    });

    const ready = await request(app.server).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'unavailable', checks: { redis: 'failed', store: 'ok' } });
    expect((await request(app.server).get('/health/live')).status).toBe(200);
    const metrics = await request(app.server).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).not.toMatch(/^glassbox_queue_jobs\{/m);
  });

  it('is not ready when the store folder is gone', async () => {
    const t = await buildTestApp();
    cleanups.push(() => t.close());
    await rm(t.config.storeDir, { recursive: true, force: true });
    const res = await request(t.app.server).get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual({ redis: 'ok', store: 'failed' });
  });
});

describe("a worker's own server", () => {
  async function workerApp(selectedBackend: string) {
    const t = await buildTestApp();
    const app = buildWorkerOpsApp({
      config: t.config,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      readiness: {
        redis: redisAnswers(t.ctx.redis),
        store: storeWritable(t.config.storeDir),
        backend: backendLoaded(selectedBackend),
      },
    });
    cleanups.push(async () => {
      await app.close();
      await t.close();
    });
    return app;
  }

  it('is ready when the backend it selected is the one loaded', async () => {
    const app = await workerApp('wasm');
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json().checks).toEqual({ redis: 'ok', store: 'ok', backend: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain(
      'glassbox_tfjs_backend_info{backend="wasm"} 1',
    );
  });

  it('is not ready when another backend than the selected one is loaded', async () => {
    const app = await workerApp('tensorflow');
    const res = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks).toEqual({ redis: 'ok', store: 'ok', backend: 'failed' });
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });
});
