// Start-up check that Redis answers, reported in one line instead of a stream of retries.
import { Redis } from 'ioredis';

/** Redis did not answer at start-up. */
export class RedisUnavailableError extends Error {
  constructor(readonly url: string, reason: string) {
    super(
      `cannot reach Redis at ${redactUrl(url)} (${reason}); start one with ` +
        '"redis-server" (or "docker compose up -d redis") or point REDIS_URL at a running Redis',
    );
    this.name = 'RedisUnavailableError';
  }
}

/** Hides a password in a Redis URL. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Connects once, without retrying, and sends PING.
 * @throws RedisUnavailableError naming the URL and the reason.
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The socket error (ECONNREFUSED, ENOTFOUND) says more than the rejection
  // ("Connection is closed").
  let socketError: Error | undefined;
  client.on('error', (err: Error) => {
    socketError ??= err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new RedisUnavailableError(url, (socketError ?? (err as Error)).message || String(err));
  } finally {
    client.disconnect();
  }
}
