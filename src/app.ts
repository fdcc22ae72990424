// Builds the HTTP application without listening; servers and tests both start from here.
import multipart from '@fastify/multipart';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './log/logger.js';
import { registerAccess } from './api/access.js';
import { registerErrorHandling } from './api/rest/errors.js';
import { registerRestRoutes } from './api/rest/index.js';
import type { ServiceContext } from './services/context.js';

export interface AppOptions {
  ctx: ServiceContext;
  logger: Logger;
}

export async function buildApp({ ctx, logger }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: ctx.config.MAX_BODY_BYTES,
  });
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
  app.get('/health/ready', async (request, reply) => {
    try {
      await ctx.redis.ping();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'redis' });
    }
  });
  registerRestRoutes(app, ctx);

  return app;
}
