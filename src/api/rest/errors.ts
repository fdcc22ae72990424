// Turns every error into an application/problem+json body with a catalogued code.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeCode, GlassboxError, type ErrorCode } from '../../errors.js';

/** Fastify's own error codes that are the client's fault, mapped onto our catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_REQ_FILE_TOO_LARGE: 'GBX_ERR_UPLOAD_TOO_LARGE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'GBX_ERR_BODY_TOO_LARGE',
  FST_ERR_BAD_URL: 'GBX_ERR_URL_INVALID',
  FST_ERR_MAX_PARAM_LENGTH: 'GBX_ERR_URL_TOO_LONG',
  FST_FIELDS_LIMIT: 'GBX_ERR_UPLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'GBX_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'GBX_ERR_VALIDATION',
  FST_ERR_CTP_INVALID_JSON_BODY: 'GBX_ERR_VALIDATION',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'GBX_ERR_VALIDATION',
  FST_FILES_LIMIT: 'GBX_ERR_UPLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'GBX_ERR_UPLOAD_TOO_LARGE',
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

/** The body for one error; 5xx details stay in the log. */
export function toProblem(err: unknown): ProblemBody {
  if (err instanceof GlassboxError) {
    const body: ProblemBody = problem(err.code, err.statusCode >= 500 ? err.title : err.message);
    if (err.problems.length > 0) body.errors = err.problems;
    return body;
  }
  const fastifyError = err as FastifyError;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped === 'GBX_ERR_VALIDATION') {
    return {
      ...problem(mapped, fastifyError.message),
      errors: [{ path: '(body)', message: fastifyError.message }],
    };
  }
  if (mapped === 'GBX_ERR_URL_INVALID' || mapped === 'GBX_ERR_URL_TOO_LONG') {
    // The message repeats the whole URL; keep the answer short.
    return problem(mapped, describeCode(mapped).title);
  }
  if (mapped) return problem(mapped, fastifyError.message);
  if (fastifyError.statusCode && fastifyError.statusCode < 500) {
    return {
      ...problem('GBX_ERR_BAD_REQUEST', fastifyError.message),
      status: fastifyError.statusCode,
    };
  }
  return problem('GBX_ERR_INTERNAL', 'the server failed to handle this request');
}

function problem(code: ErrorCode, detail: string): ProblemBody {
  const { status, title } = describeCode(code);
  return {
    type: `https://glassbox.dev/problems/${code.toLowerCase()}`,
    title,
    status,
    detail,
    code,
  };
}

/** Sends an error as problem+json; also used for errors raised before routing. */
export function sendProblem(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const body = toProblem(err);
  // A queue outage is handled (503, clients retry) and logged once by the connection watch.
  if (body.code === 'GBX_ERR_QUEUE_UNAVAILABLE') {
    request.log.warn({ code: body.code }, 'request refused');
  } else if (body.status >= 500) {
    request.log.error({ err }, 'request failed');
  } else {
    request.log.info({ code: body.code, detail: body.detail }, 'request rejected');
  }
  return reply.code(body.status).type('application/problem+json').send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendProblem(err, request, reply));

  app.setNotFoundHandler((request, reply) => {
    const body = problem('GBX_ERR_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url}`);
    return reply.code(body.status).type('application/problem+json').send(body);
  });
}
