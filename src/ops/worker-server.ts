// A worker's own small HTTP server: health and metrics on WORKER_METRICS_PORT.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { ReadinessCheck } from './health.js';
import type { Metrics } from './metrics.js';
import { registerOpsRoutes } from './routes.js';

export interface WorkerOpsServerOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  readiness: Record<string, ReadinessCheck>;
}

export interface WorkerOpsServer {
  app: FastifyInstance;
  /** The address it listens on, `http://host:port`. */
  address: string;
}

/** Builds the worker's operations server without listening; tests inject requests into it. */
export function buildWorkerOpsApp(options: WorkerOpsServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerOpsRoutes(app, { metrics: options.metrics, readiness: options.readiness });

  return app;
}

/**
 * Starts the server on HOST and WORKER_METRICS_PORT.
 * @throws Error when the port is taken, so that the worker stops with a clear reason.
 */
export async function startWorkerOpsServer(
  options: WorkerOpsServerOptions,
): Promise<WorkerOpsServer> {
  const app = buildWorkerOpsApp(options);
  const address = await app.listen({
    port: options.config.WORKER_METRICS_PORT,
    host: options.config.HOST,
  });

  return { app, address };
}
