// REST routes for activation statistics (a job) and a model's batch-normalization weights.
import type { FastifyInstance } from 'fastify';
import { getBatchNorm, submitActivationStats } from '../../services/activation-stats.js';
import type { ServiceContext } from '../../services/context.js';

export function registerActivationStatsRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/activation-stats', async (request, reply) => {
    const job = await submitActivationStats(ctx, request.principal, request.body);
    // The body passed validation, so it names an existing model.
    const { modelId } = request.body as { modelId: string };
    request.log.info({ jobId: job.id, type: job.type, modelId }, 'job queued');
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  app.get<{ Params: { id: string } }>('/v1/models/:id/batch-norm', async (request) =>
    getBatchNorm(ctx, request.principal, request.params.id),
  );
}
