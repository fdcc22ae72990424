// REST routes for models: multipart upload, list, fetch, delete.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GlassboxError, validationError, type FieldProblem } from '../../errors.js';
import type { ServiceContext } from '../../services/context.js';
import { createModel, deleteModel, getModel, listModels, type ModelUpload } from '../../services/models.js';

export function registerModelRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/models', async (request, reply) => {
    const upload = await readUpload(request);
    const record = await createModel(ctx, upload);
    request.log.info({ modelId: record.id, format: record.format }, 'model stored');
    return reply.code(201).header('location', `/v1/models/${record.id}`).send(record);
  });

  app.get('/v1/models', async () => ({ items: await listModels(ctx) }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (request) =>
    getModel(ctx, request.params.id),
  );

  app.delete<{ Params: { id: string } }>('/v1/models/:id', async (request, reply) => {
    await deleteModel(ctx, request.params.id);
    return reply.code(204).send();
  });
}

/** Collects the multipart parts: `model` (model.json), `weights` (one per file), `metadata`. */
async function readUpload(request: FastifyRequest): Promise<ModelUpload> {
  if (!request.isMultipart()) {
    throw validationError([
      { path: '(body)', message: 'must be multipart/form-data with a model part' },
    ]);
  }
  const upload: Partial<ModelUpload> & { files: Map<string, Buffer> } = { files: new Map() };
  const problems: FieldProblem[] = [];
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (part.valueTruncated) {
          problems.push({ path: part.fieldname, message: 'field is larger than the 1 MiB allowed' });
        }
        addPart(upload, part.fieldname, undefined, String(part.value), problems);
      } else {
        addPart(upload, part.fieldname, part.filename, await part.toBuffer(), problems);
      }
    }
  } catch (err) {
    throw malformedMultipart(err);
  }
  if (upload.modelJsonText === undefined) {
    problems.push({ path: 'model', message: 'required: the model.json file' });
  }
  if (problems.length > 0) throw validationError(problems);

  return upload as ModelUpload;
}

function addPart(
  upload: Partial<ModelUpload> & { files: Map<string, Buffer> },
  field: string,
  fileName: string | undefined,
  data: Buffer | string,
  problems: FieldProblem[],
): void {
  if (field === 'weights' && fileName !== undefined) {
    if (upload.files.has(fileName)) {
      problems.push({ path: 'weights', message: `file ${fileName} sent twice` });
    }
    upload.files.set(fileName, data as Buffer);
  } else if (field === 'model' && fileName !== undefined) {
    if (upload.modelJsonText !== undefined) {
      problems.push({ path: 'model', message: 'sent more than once' });
    }
    upload.modelJsonText = data.toString('utf8');
    upload.modelFileName = fileName;
  } else if (field === 'metadata') {
    if (upload.metadataText !== undefined) {
      problems.push({ path: 'metadata', message: 'sent more than once' });
    }
    upload.metadataText = data.toString('utf8');
  } else if (field === 'model' || field === 'weights') {
    problems.push({ path: field, message: 'must be a file part (with a file name)' });
  } else {
    problems.push({ path: field, message: 'unexpected part' });
  }
}

/** Errors of the multipart parser that are the client's fault become 400s. */
function malformedMultipart(err: unknown): unknown {
  const fastifyError = err as { code?: string; statusCode?: number };
  if (err instanceof GlassboxError || fastifyError.code?.startsWith('FST_')) return err;
  return validationError([
    { path: '(body)', message: `malformed multipart body: ${(err as Error).message}` },
  ]);
}
