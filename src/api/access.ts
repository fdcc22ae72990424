// Access control for every HTTP route: API keys, the request's principal, rate limits and CORS.
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decideAccess, type AccessMode } from '../auth/api-keys.js';
import { OPEN_PRINCIPAL, type Principal } from '../auth/principal.js';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import { ADMIN_BOARD_PATH } from '../ops/admin.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for; set before any handler runs on a guarded route. */
    principal: Principal;
  }
}

/**
 * Routes that need no tenant key: probes and metrics for orchestrators and load balancers, the
 * API's description, and the queue dashboard, which checks the admin key itself.
 */
export const PUBLIC_PATH_PREFIXES = [
  '/health/',
  '/metrics',
  '/openapi.json',
  '/docs',
  ADMIN_BOARD_PATH,
];

function isPublic(request: FastifyRequest): boolean {
  const url = request.url;
  return (
    request.method === 'OPTIONS' || PUBLIC_PATH_PREFIXES.some((prefix) => url.startsWith(prefix))
  );
}

/**
 * Registers CORS, authentication and per-key rate limits, in that order: a preflight needs no
 * key, and a rate limit counts per key, so it needs the principal first.
 * @returns how access was decided, for the start-up log.
 * @throws ConfigError when the keys are malformed or the service would run open on a public host.
 */
export async function registerAccess(app: FastifyInstance, config: Config): Promise<AccessMode> {
  const access = decideAccess(config);
  const origins = config.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? true : origins,
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: [
        'location',
        'retry-after',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
      ],
      maxAge: 600,
    });
  }

  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request, reply) => {
    if (access.kind === 'open') {
      request.principal = OPEN_PRINCIPAL;
      return;
    }
    if (isPublic(request)) return;
    const principal = authenticate(request, access);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="glassbox"');
      throw new GlassboxError(
        'GBX_ERR_UNAUTHORIZED',
        request.headers.authorization
          ? 'the API key is not valid'
          : 'send an API key as "Authorization: Bearer <key>"',
      );
    }
    request.principal = principal;
  });

  // A WebSocket upgrade refused here (no key, rate limited) never reaches the WebSocket plugin's
  // hooks, which close an upgrade's socket once answered; left open, it would hold up shutdown.
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode >= 400 && request.headers.upgrade) request.raw.socket?.destroy();
  });

  // Limitation: counts are kept per API process, because a shared store would put Redis on the
  // path of every request, including those that must keep working while Redis is away.
  await app.register(rateLimit, {
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    hook: 'onRequest',
    allowList: (request) => isPublic(request),
    keyGenerator: (request) =>
      access.kind === 'keys' && request.principal
        ? `key:${request.principal.keyId}`
        : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new GlassboxError(
        'GBX_ERR_RATE_LIMITED',
        `more than RATE_LIMIT_MAX (${context.max}) requests in RATE_LIMIT_WINDOW_MS ` +
          `(${config.RATE_LIMIT_WINDOW_MS} ms) for this API key; retry after ${context.after}`,
      ),
  });
  return access;
}

function authenticate(
  request: FastifyRequest,
  access: AccessMode & { kind: 'keys' },
): Principal | null {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
  return match ? access.keys.lookup(match[1]) : null;
}
