// REST routes for explanation requests and job polling.
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { submitExplanation } from '../../services/explanations.js';
import { getJob } from '../../services/jobs.js';

export function registerJobRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/explanations', async (request, reply) => {
    const job = await submitExplanation(ctx, request.principal, request.body);
    request.log.info({ jobId: job.id, type: job.type }, 'job queued');
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request) =>
    getJob(ctx, request.principal, request.params.id),
  );
}
