// REST routes for models: multipart upload, list, fetch, delete.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/index.js';
import { GlassboxError, validationError } from '../../errors.js';
import type { ServiceContext } from '../../services/context.js';
import { createModel, deleteModel, getModel, listModels, type ModelUpload } from '../../services/models.js';

export function registerModelRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/models', async (request, reply) => {
    const upload = await readUpload(request, ctx.config);
    const record = await createModel(ctx, request.principal, upload);
    request.log.info({ modelId: record.id, format: record.format }, 'model stored');
    return reply.code(201).header('location', `/v1/models/${record.id}`).send(record);
  });

  app.get('/v1/models', async (request) => ({ items: await listModels(ctx, request.principal) }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (request) =>
    getModel(ctx, request.principal, request.params.id),
  );

  app.delete<{ Params: { id: string } }>('/v1/models/:id', async (request, reply) => {
    await deleteModel(ctx, request.principal, request.params.id);
    return reply.code(204).send();
  });
}

/** Collects the multipart parts: `model` (model.json), `weights` (one per file), `metadata`. */
async function readUpload(request: FastifyRequest, config: Config): Promise<ModelUpload> {
  const maxTotalBytes = config.MAX_UPLOAD_TOTAL_BYTES;
  if (!request.isMultipart()) {
    throw validationError([{ path: '(body)', message: 'must be multipart/form-data with a model part' }]);
  }
  let modelJsonText: string | undefined;
  let modelFileName: string | undefined;
  let metadataText: string | undefined;
  const files = new Map<string, Buffer>();
  const problems: { path: string; message: string }[] = [];
  let totalBytes = 0;
  const count = (bytes: number) => {
    totalBytes += bytes;
    if (totalBytes > maxTotalBytes) {
      throw new GlassboxError(
        'GBX_ERR_UPLOAD_TOO_LARGE',
        `the upload holds more than MAX_UPLOAD_TOTAL_BYTES (${maxTotalBytes}) bytes in total`,
      );
    }
  };

  for await (const part of request.parts()) {
    if (part.type === 'field') {
      count(Buffer.byteLength(String(part.value)));
      if (part.fieldname === 'metadata') metadataText = String(part.value);
      else problems.push({ path: part.fieldname, message: 'unexpected field' });
      continue;
    }
    const data = await part.toBuffer().catch((err: { code?: string }) => {
      if (err.code !== 'FST_REQ_FILE_TOO_LARGE') throw err;
      throw new GlassboxError(
        'GBX_ERR_UPLOAD_TOO_LARGE',
        `file ${part.filename} in part ${part.fieldname} is larger than MAX_UPLOAD_BYTES ` +
          `(${config.MAX_UPLOAD_BYTES} bytes)`,
        [],
        { cause: err },
      );
    });
    count(data.length);
    if (part.fieldname === 'model') {
      modelJsonText = data.toString('utf8');
      modelFileName = part.filename;
    } else if (part.fieldname === 'weights') {
      if (files.has(part.filename)) problems.push({ path: 'weights', message: `file ${part.filename} sent twice` });
      files.set(part.filename, data);
    } else if (part.fieldname === 'metadata') {
      metadataText = data.toString('utf8');
    } else {
      problems.push({ path: part.fieldname, message: 'unexpected file part' });
    }
  }
  if (modelJsonText === undefined) problems.push({ path: 'model', message: 'required: the model.json file' });
  if (problems.length > 0) throw validationError(problems);

  return { modelJsonText: modelJsonText as string, modelFileName, files, metadataText };
}
