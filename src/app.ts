// Builds the HTTP application without listening; servers and tests both start from here.
import multipart from '@fastify/multipart';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RouteOptions,
} from 'fastify';
import type { Logger } from './log/logger.js';
import { registerAccess } from './api/access.js';
import { registerErrorHandling, sendProblem } from './api/rest/errors.js';
import { GlassboxError } from './errors.js';
import { registerGraphql } from './api/graphql/index.js';
import { registerRestRoutes } from './api/rest/index.js';
import { registerOpenapi } from './api/rest/openapi.js';
import type { ServiceContext } from './services/context.js';

export interface AppOptions {
  ctx: ServiceContext;
  logger: Logger;
  /** Sees every route as it is registered (the contract tests list them with it). */
  onRoute?: (route: RouteOptions) => void;
}

export async function buildApp({ ctx, logger, onRoute }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: ctx.config.MAX_BODY_BYTES,
    frameworkErrors: (err, request, reply) => sendProblem(err, request, reply),
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

  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async () => {
    try {
      await ctx.redis.ping();
      return { status: 'ok' };
    } catch (err) {
      const cause = { cause: err };
      throw new GlassboxError('GBX_ERR_QUEUE_UNAVAILABLE', 'Redis does not answer', [], cause);
    }
  });
  registerRestRoutes(app, ctx);
  await registerOpenapi(app);
  await registerGraphql(app, ctx);

  return app;
}
