// Operations routes shared by the API and the worker's own server: health, metrics, request log.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkReadiness, type ReadinessCheck } from './health.js';
import type { Metrics } from './metrics.js';

export interface OpsRoutesOptions {
  metrics: Metrics;
  /** Named checks /health/ready runs. */
  readiness: Record<string, ReadinessCheck>;
}

/** Probes and scrapes arrive every few seconds; their lines go to debug to keep info readable. */
const QUIET_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * Adds /health/live, /health/ready and /metrics, and a hook that counts, times and logs every
 * request in one line. Call it on the root instance so that the hook sees every route.
 */
export function registerOpsRoutes(app: FastifyInstance, options: OpsRoutesOptions): void {
  app.addHook('onResponse', async (request, reply) =>
    observeRequest(options.metrics, request, reply),
  );

  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async (request, reply) => {
    const readiness = await checkReadiness(options.readiness);
    if (readiness.ready) return { status: 'ok', checks: readiness.checks };
    request.log.warn({ checks: readiness.checks, reasons: readiness.reasons }, 'not ready');
    return reply.code(503).send({ status: 'unavailable', checks: readiness.checks });
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });
}

function observeRequest(metrics: Metrics, request: FastifyRequest, reply: FastifyReply): void {
  // The route pattern, not the URL, keeps label values few; unmatched URLs share one value.
  const route = request.routeOptions.url ?? 'unmatched';
  const labels = { method: request.method, route, status: String(reply.statusCode) };
  const durationMs = reply.elapsedTime;
  metrics.httpRequests.inc(labels);
  metrics.httpDuration.observe(labels, durationMs / 1000);

  const line = {
    method: request.method,
    route,
    path: request.url.split('?')[0],
    statusCode: reply.statusCode,
    durationMs: Math.round(durationMs * 10) / 10,
  };
  if (QUIET_ROUTES.has(route)) request.log.debug(line, 'request completed');
  else request.log.info(line, 'request completed');
}
