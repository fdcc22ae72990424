// The operators' queue dashboard (Bull Board) at /admin/queues, behind the admin key.
import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toProblem } from '../api/rest/errors.js';
import { GlassboxError } from '../errors.js';

export const ADMIN_BOARD_PATH = '/admin/queues';

/**
 * Mounts the dashboard when an admin key is configured; without one nothing is mounted and the
 * path answers 404. A request carries the key as `Authorization: Bearer <key>` or, so that a
 * browser can open the page, as the password of HTTP Basic authentication (any user name).
 */
export async function registerAdminBoard(
  app: FastifyInstance,
  queue: Queue,
  adminKey: string | undefined,
): Promise<void> {
  if (!adminKey) return;
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(ADMIN_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Glassbox queues' } },
  });

  await app.register(
    async (board) => {
      board.addHook('onRequest', async (request, reply) =>
        requireAdminKey(request, reply, adminKey),
      );
      await board.register(serverAdapter.registerPlugin());
    },
    { prefix: ADMIN_BOARD_PATH },
  );
}

async function requireAdminKey(
  request: FastifyRequest,
  reply: FastifyReply,
  adminKey: string,
): Promise<void> {
  const presented = presentedKey(request.headers.authorization);
  if (presented !== null && sameSecret(presented, adminKey)) return;
  const body = toProblem(
    new GlassboxError('GBX_ERR_ADMIN_UNAUTHORIZED', 'send the admin key as a Bearer token'),
  );
  request.log.info({ code: body.code }, 'admin request refused');
  await reply
    .code(body.status)
    .header('www-authenticate', 'Basic realm="glassbox admin", charset="UTF-8"')
    .type('application/problem+json')
    .send(body);
}

/** The key in a Bearer or Basic authorization header, or null. */
function presentedKey(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return null;
  if (scheme.toLowerCase() === 'bearer') return value.trim();
  if (scheme.toLowerCase() !== 'basic') return null;
  const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
