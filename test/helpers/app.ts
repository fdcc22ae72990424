// Builds the HTTP app against the real Redis with a private queue prefix and store folder.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createJobQueue, createRedis } from '../../src/jobs/queue.js';
import { ResultStore } from '../../src/jobs/result-store.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { ModelStore } from '../../src/models/store.js';
import type { Metrics } from '../../src/ops/metrics.js';
import type { ServiceContext } from '../../src/services/context.js';
import { selectBackend } from '../../src/tf/backend.js';
import { SpecChecker, UNDOCUMENTED_ROUTE, type RecordedResponse } from './openapi.js';
import { requireRedis, uniquePrefix } from './redis.js';

export interface TestApp {
  app: FastifyInstance;
  ctx: ServiceContext;
  config: Config;
  /** `METHOD /route` of every route the app registered. */
  routes: string[];
  /** Every response the app sent to a route, checked against openapi.yaml on close. */
  responses: RecordedResponse[];
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Logger of the app; silent when absent. */
  logger?: Logger;
  /** Metrics registry shared with an in-process worker. */
  metrics?: Metrics;
}

export async function buildTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const redisUrl = await requireRedis();
  await selectBackend('wasm');
  const storeDir = await mkdtemp(path.join(os.tmpdir(), 'gbx-store-'));
  const config = loadConfig({
    REDIS_URL: redisUrl,
    STORE_DIR: storeDir,
    QUEUE_PREFIX: uniquePrefix('api'),
    ...env,
  });
  const models = new ModelStore(config.storeDir);
  const results = new ResultStore(config.storeDir);
  await models.init();
  await results.init();
  const redis = createRedis(config, false);
  const queue = createJobQueue(config, redis);
  const ctx: ServiceContext = { config, models, results, queue, redis };
  const routes: string[] = [];
  const app = await buildApp({
    ctx,
    logger: options.logger ?? createLogger('silent'),
    metrics: options.metrics,
    onRoute: (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) routes.push(`${method} ${route.url}`);
    },
  });
  const responses = recordResponses(app);
  await app.ready();
  const spec = await SpecChecker.load();
  return {
    app,
    ctx,
    config,
    routes,
    responses,
    close: async () => {
      await app.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await redis.quit();
      await rm(storeDir, { recursive: true, force: true });
      // CORS preflights are answered by the CORS plugin for every path, outside the API proper.
      spec.assertConforms(
        responses.filter((r) => !UNDOCUMENTED_ROUTE.test(r.route) && r.method !== 'OPTIONS'),
      );
    },
  };
}

/** Keeps every response sent by a route, for the spec check. */
function recordResponses(app: FastifyInstance): RecordedResponse[] {
  const responses: RecordedResponse[] = [];
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (route === undefined) return payload;
    const body =
      typeof payload === 'string'
        ? payload
        : Buffer.isBuffer(payload)
          ? payload.toString('utf8')
          : undefined;
    const contentType = reply.getHeader('content-type');
    responses.push({
      method: request.method,
      route,
      status: reply.statusCode,
      contentType: typeof contentType === 'string' ? contentType : undefined,
      body,
    });
    return payload;
  });

  return responses;
}
