// REST routes for datasets: upload rows as JSON or CSV, read them back.
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { createDataset, getDataset } from '../../services/datasets.js';

export function registerDatasetRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => {
    done(null, { csv: body as string });
  });

  app.post('/v1/datasets', async (request, reply) => {
    const body = request.body as { csv?: string } | undefined;
    const isCsv = (request.headers['content-type'] ?? '').startsWith('text/csv');
    const csvText = isCsv ? (body?.csv ?? '') : undefined;
    const dataset = await createDataset(ctx, request.principal, body, csvText);
    request.log.info({ datasetId: dataset.id, rows: dataset.rowCount }, 'dataset stored');
    return reply.code(201).header('location', `/v1/datasets/${dataset.id}`).send(dataset);
  });

  app.get<{ Params: { id: string } }>('/v1/datasets/:id', async (request) =>
    getDataset(ctx, request.principal, request.params.id),
  );
}
