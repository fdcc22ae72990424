// Gives every GraphQL error a catalogued `extensions.code`, the same codes REST problems carry.
import { GraphQLError } from 'graphql';
import mercurius from 'mercurius';
import type { FastifyBaseLogger } from 'fastify';
import { ERROR_CODES, GlassboxError, type ErrorCode } from '../../errors.js';

/** Mercurius sets `statusCode` on the results of requests that failed before execution. */
type ExecutionResult = Parameters<typeof mercurius.defaultErrorFormatter>[0] & {
  statusCode?: number;
};
type FormatterContext = Parameters<typeof mercurius.defaultErrorFormatter>[1];

const KNOWN_CODES = new Set<string>(ERROR_CODES);

/** Mercurius error formatter: flattens, codes, hides 5xx internals, then formats as usual. */
export function formatGraphqlErrors(execution: ExecutionResult, context: FormatterContext) {
  const log = (context.reply?.log ?? context.app.log) as FastifyBaseLogger;
  let statusCode = execution.statusCode;
  const errors = (execution.errors ?? [])
    .flatMap((err) => {
      // Mercurius wraps a failed parse or validation in one error holding the rule errors.
      const wrapper = err.originalError as { errors?: unknown; statusCode?: number } | undefined;
      if (!Array.isArray(wrapper?.errors)) return [err];
      statusCode = wrapper.statusCode ?? 400;
      return wrapper.errors as GraphQLError[];
    })
    .map((err) => {
      statusCode = accessStatus(err) ?? frameworkClientStatus(err) ?? statusCode;
      return codedError(err, log);
    });

  const coded: ExecutionResult = { ...execution, statusCode, errors };

  return mercurius.defaultErrorFormatter(coded, context);
}

/** Refusals of the access hooks, which run before GraphQL does, keep their HTTP status. */
const ACCESS_CODES: ReadonlySet<ErrorCode> = new Set([
  'GBX_ERR_UNAUTHORIZED',
  'GBX_ERR_RATE_LIMITED',
]);

function accessStatus(err: GraphQLError): number | undefined {
  const original = err.originalError;
  return original instanceof GlassboxError && ACCESS_CODES.has(original.code)
    ? original.statusCode
    : undefined;
}

/**
 * The 4xx status of an error Mercurius raised about the request itself (no query at all, say),
 * which is neither a GraphQL error nor one of ours.
 */
function frameworkClientStatus(err: GraphQLError): number | undefined {
  const original = err.originalError as { statusCode?: unknown } | undefined;
  if (!original || original instanceof GlassboxError || original instanceof GraphQLError) {
    return undefined;
  }
  const status = original.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** The error with a catalogued `extensions.code`; 5xx messages replaced by their title. */
export function codedError(err: GraphQLError, log: FastifyBaseLogger): GraphQLError {
  const code = err.extensions?.code;
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return err;
  const original = err.originalError;
  if (original instanceof GlassboxError) {
    const hidden = original.statusCode >= 500;
    if (hidden) log.error({ err: original }, 'graphql request failed');
    const extensions: Record<string, unknown> = { code: original.code };
    if (original.problems.length > 0) extensions.errors = original.problems;
    return withCode(err, hidden ? original.title : original.message, extensions);
  }
  // Errors without an original are the query's own: syntax, unknown fields, bad arguments;
  // Mercurius's own 4xx errors are about the request too.
  if (!original || original instanceof GraphQLError || frameworkClientStatus(err) !== undefined) {
    return withCode(err, err.message, { code: 'GBX_ERR_VALIDATION' satisfies ErrorCode });
  }
  log.error({ err: original }, 'graphql request failed');
  return withCode(err, 'the server failed to handle this request', {
    code: 'GBX_ERR_INTERNAL' satisfies ErrorCode,
  });
}

function withCode(
  err: GraphQLError,
  message: string,
  extensions: Record<string, unknown>,
): GraphQLError {
  return new GraphQLError(message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    path: err.path,
    extensions,
  });
}
