// REST routes for explanation requests, job polling, listing and cancellation.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GlassboxError } from '../../errors.js';
import type { ServiceContext } from '../../services/context.js';
import { submitExplanation } from '../../services/explanations.js';
import { cancelJob, getJob, listJobs } from '../../services/jobs.js';

export function registerJobRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/explanations', async (request, reply) => {
    requireJson(request);
    const job = await submitExplanation(ctx, request.principal, request.body);
    // The body passed validation, so it names an existing model.
    const { modelId } = request.body as { modelId: string };
    request.log.info({ jobId: job.id, type: job.type, modelId }, 'job queued');
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  app.get('/v1/jobs', async (request) => listJobs(ctx, request.principal, request.query));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request, reply) => {
    const view = await getJob(ctx, request.principal, request.params.id);
    const body = JSON.stringify(view);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();

    return reply.type('application/json').send(body);
  });

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', async (request, reply) => {
    const view = await cancelJob(ctx, request.principal, request.params.id);
    request.log.info({ jobId: view.id, status: view.status }, 'job cancellation requested');
    return reply.code(view.status === 'cancelled' ? 200 : 202).send(view);
  });
}

/** If-None-Match holds one or more tags, or `*`; weak tags compare equal to strong ones. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
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
