// Tests that need Redis call this first, so that a missing Redis fails with one clear message.
import { checkRedis } from '../../src/redis-check.js';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function requireRedis(): Promise<string> {
  try {
    await checkRedis(TEST_REDIS_URL, 2000);
  } catch (err) {
    throw new Error(
      `These tests need a Redis server and none answered: ${(err as Error).message}. ` +
        'Run "redis-server --daemonize yes" (or "docker compose up -d redis") and try again.',
    );
  }
  return TEST_REDIS_URL;
}

/** A queue prefix no other test run shares. */
export function uniquePrefix(label: string): string {
  return `gbxtest-${label}-${process.pid}-${Date.now().toString(36)}`;
}
