// Builds the HTTP application without listening; servers and tests both start from here.
import multipart from '@fastify/multipart';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RouteOptions,
} from 'fastify';
import type { Logger } from './log/logger.js';
import { registerAccess } from './api/access.js';
import { registerErrorHandling, sendProblem } from './api/rest/errors.js';
import { registerGraphql } from './api/graphql/index.js';
import { registerRestRoutes } from './api/rest/index.js';
import { registerOpenapi } from './api/rest/openapi.js';
import { registerAdminBoard } from './ops/admin.js';
import { redisAnswers, storeWritable, type ReadinessCheck } from './ops/health.js';
import { createMetrics, registerQueueDepth, type Metrics } from './ops/metrics.js';
import { registerOpsRoutes } from './ops/routes.js';
import type { ServiceContext } from './services/context.js';

export interface AppOptions {
  ctx: ServiceContext;
  logger: Logger;
  /** Sees every route as it is registered (the contract tests list them with it). */
  onRoute?: (route: RouteOptions) => void;
  /** Registry to serve at /metrics; a fresh one when absent. A combined process shares one. */
  metrics?: Metrics;
  /** Readiness checks beyond Redis and the store (the backend, when a worker runs here too). */
  readiness?: Record<string, ReadinessCheck>;
}

export async function buildApp({
  ctx,
  logger,
  onRoute,
  ...ops
}: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: ctx.config.MAX_BODY_BYTES,
    frameworkErrors: (err, request, reply) => sendProblem(err, request, reply),
    // One line per request comes from the operations hook instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });
  if (onRoute) app.addHook('onRoute', onRoute);
  registerErrorHandling(app);
  await registerAccess(app, ctx.config);
  await app.register(multipart, {
    limits: {
      fileSize: ctx.config.MAX_UPLOAD_BYTES,
      files: 1000,
      fields: 10,
      fieldSize: 1024 * 1024,
    },
    throwFileSizeLimit: true,
  });

  const metrics = ops.metrics ?? createMetrics();
  registerQueueDepth(metrics, ctx.queue);
  registerOpsRoutes(app, {
    metrics,
    readiness: {
      redis: redisAnswers(ctx.redis),
      store: storeWritable(ctx.config.storeDir),
      ...ops.readiness,
    },
  });
  await registerAdminBoard(app, ctx.queue, ctx.config.ADMIN_API_KEY);
  registerRestRoutes(app, ctx);
  await registerOpenapi(app);
  await registerGraphql(app, ctx);

  return app;
}
