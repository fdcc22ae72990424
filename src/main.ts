// Process entry point: `api`, `worker` or `all` (both in one process).
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { decideAccess, type AccessMode } from './auth/api-keys.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { watchConnection } from './jobs/connection-watch.js';
import { createJobQueue, createRedis } from './jobs/queue.js';
import { ResultStore } from './jobs/result-store.js';
import { createLogger, type Logger } from './log/logger.js';
import { ModelStore } from './models/store.js';
import { backendLoaded, redisAnswers, storeWritable } from './ops/health.js';
import { createMetrics, registerQueueDepth } from './ops/metrics.js';
import { startWorkerOpsServer } from './ops/worker-server.js';
import { checkRedis, RedisUnavailableError } from './redis-check.js';
import { selectBackend } from './tf/backend.js';
import { startWorker } from './worker/worker.js';

type Mode = 'api' | 'worker' | 'all';

async function main(): Promise<void> {
  const mode = parseMode(process.argv[2]);
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`glassbox: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  try {
    await run(mode, config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ problems: err.problems }, err.message);
      process.exit(2);
    }
    if (err instanceof RedisUnavailableError) {
      logger.fatal({ redisUrl: err.url }, err.message);
      process.exit(1);
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
}

function parseMode(arg: string | undefined): Mode {
  if (arg === 'api' || arg === 'worker' || arg === 'all') return arg;
  process.stderr.write(`glassbox: mode must be api, worker or all (got ${arg ?? 'nothing'})\n`);
  process.exit(2);
}

async function run(mode: Mode, config: Config, logger: Logger): Promise<void> {
  if (mode === 'api' || mode === 'all') reportAccess(decideAccess(config), config, logger);
  await checkRedis(config.REDIS_URL);
  const backend = await selectBackend(config.TFJS_BACKEND);
  logger.info(
    { backend: backend.backend, passedOver: backend.tried },
    'TensorFlow.js backend selected',
  );

  const models = new ModelStore(config.storeDir);
  const results = new ResultStore(config.storeDir);
  await models.init();
  await results.init();
  const closers: (() => Promise<unknown>)[] = [];
  const metrics = createMetrics();
  const backendCheck = { backend: backendLoaded(backend.backend) };

  if (mode === 'worker') {
    // Bound before the worker takes jobs, so that a taken port stops the process at once. The
    // blocking worker connection waits out outages; probes need one that answers or fails.
    const probe = createRedis(config, false);
    const probeQueue = createJobQueue(config, probe);
    registerQueueDepth(metrics, probeQueue);
    const ops = await startWorkerOpsServer({
      config,
      logger,
      metrics,
      readiness: {
        redis: redisAnswers(probe),
        store: storeWritable(config.storeDir),
        ...backendCheck,
      },
    });
    closers.push(() => ops.app.close(), () => probeQueue.close(), () => probe.quit());
    logger.info({ address: ops.address }, 'worker metrics listening');
  }
  if (mode === 'worker' || mode === 'all') {
    const connection = createRedis(config, true);
    watchConnection(connection, logger, config.REDIS_URL, 'worker');
    const worker = startWorker({ config, logger, connection, models, results, metrics });
    closers.push(() => worker.close(), () => connection.quit());
    const threadBackends = await worker.ready;
    logger.info({ computeThreads: threadBackends }, 'compute ready');
    logger.info(
      { concurrency: config.WORKER_CONCURRENCY, storeDir: config.storeDir },
      'worker started',
    );
  }
  if (mode === 'api' || mode === 'all') {
    const redis = createRedis(config, false);
    watchConnection(redis, logger, config.REDIS_URL, 'api');
    const queue = createJobQueue(config, redis);
    const app: FastifyInstance = await buildApp({
      ctx: { config, models, results, queue, redis },
      logger,
      metrics,
      readiness: mode === 'all' ? backendCheck : undefined,
    });
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    logger.info({ address, storeDir: config.storeDir }, 'api listening');
    closers.unshift(() => app.close(), () => queue.close(), () => redis.quit());
  }
  handleSignals(logger, closers);
}

function reportAccess(access: AccessMode, config: Config, logger: Logger): void {
  if (access.kind === 'keys') {
    logger.info({ keys: access.keys.size }, 'API keys required');
  } else {
    logger.warn(
      { host: config.HOST, reason: access.reason },
      'no API keys configured: the API is open to every caller of this address',
    );
  }
}

function handleSignals(logger: Logger, closers: (() => Promise<unknown>)[]): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    for (const close of closers) await close().catch((err) => logger.warn({ err }, 'close failed'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

void main();
