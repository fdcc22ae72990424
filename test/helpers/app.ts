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
import type { ServiceContext } from '../../src/services/context.js';
import { selectBackend } from '../../src/tf/backend.js';
import { requireRedis, uniquePrefix } from './redis.js';

export interface TestApp {
  app: FastifyInstance;
  ctx: ServiceContext;
  config: Config;
  close(): Promise<void>;
}

export async function buildTestApp(
  env: Record<string, string> = {},
  logger: Logger = createLogger('silent'),
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
  const app = await buildApp({ ctx, logger });
  await app.ready();
  return {
    app,
    ctx,
    config,
    close: async () => {
      await app.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await redis.quit();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
