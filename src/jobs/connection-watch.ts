// Logs a Redis connection going away and coming back, once each, instead of every retry.
import type { RedisClient } from './queue.js';
import type { Logger } from '../log/logger.js';
import { redactUrl } from '../redis-check.js';

/**
 * Watches a connection: one warning when it is lost, one line when it is ready again. ioredis
 * reconnects by itself; without an `error` listener it would print each failed try to stderr.
 */
export function watchConnection(
  redis: RedisClient,
  logger: Logger,
  url: string,
  role: string,
): void {
  let lost = false;
  redis.on('error', (err: Error) => {
    if (lost) return;
    lost = true;
    logger.warn(
      { role, redisUrl: redactUrl(url), reason: err.message },
      'redis connection lost; reconnecting',
    );
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    logger.info({ role, redisUrl: redactUrl(url) }, 'redis connection restored');
  });
}
