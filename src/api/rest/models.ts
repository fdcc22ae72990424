// REST routes for models: multipart upload, list, fetch, delete.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/index.js';
import { GlassboxError, validationError, type FieldProblem } from '../../errors.js';
import type { ServiceContext } from '../../services/context.js';
import {
  createModel,
  deleteModel,
  getModel,
  listModels,
  type ModelUpload,
} from '../../services/models.js';

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
  if (!request.isMultipart()) {
    throw validationError([
      { path: '(body)', message: 'must be multipart/form-data with a model part' },
    ]);
  }
  const upload: Partial<ModelUpload> & { files: Map<string, Buffer> } = { files: new Map() };
  const problems: FieldProblem[] = [];
  const countBytes = byteCounter(config.MAX_UPLOAD_TOTAL_BYTES);
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (part.valueTruncated) {
          problems.push({
            path: part.fieldname,
            message: 'field is larger than the 1 MiB allowed',
          });
        }
        countBytes(Buffer.byteLength(String(part.value)));
        addPart(upload, part.fieldname, undefined, String(part.value), problems);
      } else {
        const data = await part.toBuffer().catch((err: unknown) => {
          throw fileTooLarge(err, part.fieldname, part.filename, config.MAX_UPLOAD_BYTES);
        });
        countBytes(data.length);
        addPart(upload, part.fieldname, part.filename, data, problems);
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

/** Counts the bytes of an upload; throws once they exceed MAX_UPLOAD_TOTAL_BYTES. */
function byteCounter(maxTotalBytes: number): (bytes: number) => void {
  let totalBytes = 0;
  return (bytes) => {
    totalBytes += bytes;
    if (totalBytes > maxTotalBytes) {
      throw new GlassboxError(
        'GBX_ERR_UPLOAD_TOO_LARGE',
        `the upload holds more than MAX_UPLOAD_TOTAL_BYTES (${maxTotalBytes}) bytes in total`,
      );
    }
  };
}

/** A file over MAX_UPLOAD_BYTES becomes a 413 naming the file and the setting. */
function fileTooLarge(err: unknown, field: string, fileName: string, maxBytes: number): unknown {
  if ((err as { code?: string }).code !== 'FST_REQ_FILE_TOO_LARGE') return err;
  return new GlassboxError(
    'GBX_ERR_UPLOAD_TOO_LARGE',
    `file ${fileName} in part ${field} is larger than MAX_UPLOAD_BYTES (${maxBytes} bytes)`,
    [],
    { cause: err },
  );
}

/** Errors of the multipart parser that are the client's fault become 400s. */
function malformedMultipart(err: unknown): unknown {
  const fastifyError = err as { code?: string; statusCode?: number };
  if (err instanceof GlassboxError || fastifyError.code?.startsWith('FST_')) return err;
  return validationError([
    { path: '(body)', message: `malformed multipart body: ${(err as Error).message}` },
  ]);
}
