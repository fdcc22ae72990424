// REST routes for datasets: upload rows as JSON or CSV, list, read back and remove them.
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import {
  createDataset,
  deleteDataset,
  getDataset,
  listDatasets,
} from '../../services/datasets.js';

export function registerDatasetRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => {
    done(null, { csv: body as string });
  });

  app.post('/v1/datasets', async (request, reply) => {
    const body = request.body as { csv?: string } | undefined;
    const isCsv = (request.headers['content-type'] ?? '').startsWith('text/csv');
    const csvText = isCsv ? (body?.csv ?? '') : undefined;
    const { name } = request.query as { name?: string };
    const dataset = await createDataset(ctx, request.principal, body, csvText, name);
    request.log.info({ datasetId: dataset.id, rows: dataset.rowCount }, 'dataset stored');
    return reply.code(201).header('location', `/v1/datasets/${dataset.id}`).send(dataset);
  });

  app.get('/v1/datasets', async (request) => ({
    items: await listDatasets(ctx, request.principal),
  }));

  app.get<{ Params: { id: string } }>('/v1/datasets/:id', async (request) =>
    getDataset(ctx, request.principal, request.params.id),
  );

  app.delete<{ Params: { id: string } }>('/v1/datasets/:id', async (request, reply) => {
    await deleteDataset(ctx, request.principal, request.params.id);
    request.log.info({ datasetId: request.params.id }, 'dataset deleted');
    return reply.code(204).send();
  });
}
