// REST routes for explanation requests and job polling.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GlassboxError } from '../../errors.js';
import type { ServiceContext } from '../../services/context.js';
import { submitExplanation } from '../../services/explanations.js';
import { getJob } from '../../services/jobs.js';

export function registerJobRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/explanations', async (request, reply) => {
    requireJson(request);
    const job = await submitExplanation(ctx, request.body);
    request.log.info({ jobId: job.id, type: job.type }, 'job queued');
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request) =>
    getJob(ctx, request.params.id),
  );
}

/** JSON routes refuse other bodies with 415 instead of guessing. */
export function requireJson(request: FastifyRequest): void {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED_MEDIA_TYPE',
      `send the request as application/json (got ${type || 'no content type'})`,
    );
  }
}
