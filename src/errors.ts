// The catalogue of errors the service reports: one stable code, one HTTP status each.

export interface FieldProblem {
  /** Where in the request the problem is, as a dotted path (`instances.3.7`). */
  path: string;
  message: string;
}

const catalogue = {
  GBX_ERR_VALIDATION: { status: 400, title: 'The request is not valid' },
  GBX_ERR_UPLOAD_INVALID: { status: 400, title: 'The uploaded model is not valid' },
  GBX_ERR_UPLOAD_TOO_LARGE: { status: 413, title: 'An uploaded file is too large' },
  GBX_ERR_BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  GBX_ERR_URL_INVALID: { status: 400, title: 'The URL is not valid' },
  GBX_ERR_URL_TOO_LONG: { status: 414, title: 'A path parameter is too long' },
  GBX_ERR_UPLOAD_UNSUPPORTED: { status: 400, title: 'The model needs what TensorFlow.js lacks' },
  GBX_ERR_UPLOAD_TIMEOUT: { status: 422, title: 'The model did not load in time' },
  GBX_ERR_UNSUPPORTED: { status: 400, title: 'Not supported yet' },
  GBX_ERR_UNAUTHORIZED: { status: 401, title: 'A valid API key is required' },
  GBX_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  GBX_ERR_MODEL_NOT_FOUND: { status: 404, title: 'No such model' },
  GBX_ERR_JOB_NOT_FOUND: { status: 404, title: 'No such job' },
  GBX_ERR_DATASET_NOT_FOUND: { status: 404, title: 'No such dataset' },
  GBX_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  GBX_ERR_QUEUE_UNAVAILABLE: { status: 503, title: 'The job queue cannot be reached' },
  GBX_ERR_MODEL_LOAD: { status: 500, title: 'The model could not be loaded' },
  GBX_ERR_JOB_FAILED: { status: 500, title: 'The job failed' },
  GBX_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  GBX_ERR_BAD_REQUEST: { status: 400, title: 'Bad request' },
  GBX_ERR_NONFINITE_OUTPUT: { status: 422, title: 'The model produced non-finite outputs' },
  GBX_ERR_INTERNAL: { status: 500, title: 'Internal error' },
  GBX_ERR_JOB_FINISHED: { status: 409, title: 'The job has already finished' },
  GBX_ERR_JOB_CANCELLED: { status: 409, title: 'The job was cancelled' },
  GBX_ERR_JOB_TIMEOUT: { status: 422, title: 'The job ran past its time limit' },
  GBX_ERR_QUERY_TOO_DEEP: { status: 400, title: 'The GraphQL query is nested too deeply' },
  GBX_ERR_QUERY_TOO_COSTLY: { status: 400, title: 'The GraphQL query would cost too much' },
  GBX_ERR_ADMIN_UNAUTHORIZED: { status: 401, title: 'The admin key is missing or wrong' },
} as const;

export type ErrorCode = keyof typeof catalogue;

/** The one error type the service throws on purpose; carries a catalogued code. */
export class GlassboxError extends Error {
  readonly statusCode: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly problems: FieldProblem[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GlassboxError';
    this.statusCode = catalogue[code].status;
    this.title = catalogue[code].title;
  }
}

/** A 400 listing every field problem at once. */
export function validationError(problems: FieldProblem[]): GlassboxError {
  const summary = problems
    .slice(0, 5)
    .map((p) => `${p.path || '(body)'}: ${p.message}`)
    .join('; ');
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  return new GlassboxError('GBX_ERR_VALIDATION', `${summary}${more}`, problems);
}

/** The message of a request cap: names the setting, so that an operator knows what to raise. */
export function overLimit(setting: string, limit: number, unit: string): { message: string } {
  return { message: `over the limit ${setting} (${limit}${unit ? ` ${unit}` : ''})` };
}

/** Every catalogued code, for contracts that list them. */
export const ERROR_CODES = Object.keys(catalogue) as ErrorCode[];

/** Status and title of a catalogued code. */
export function describeCode(code: ErrorCode): { status: number; title: string } {
  return catalogue[code];
}
