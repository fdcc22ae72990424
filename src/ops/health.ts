// Readiness checks: Redis answers, the store takes writes, a model backend is loaded.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { RedisClient } from '../jobs/queue.js';
import { PROBE_TIMEOUT_MS, withDeadline } from './deadline.js';

export type CheckOutcome = 'ok' | 'failed';

/** One named check; it resolves when healthy and rejects with the reason when not. */
export type ReadinessCheck = () => Promise<void>;

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckOutcome>;
  /** Why each failed check failed; for the log, not for the response. */
  reasons: Record<string, string>;
}

/**
 * Redis answers PING. A client still connecting (just after start, or reconnecting) is given the
 * probe's time to become ready, since it refuses commands until then.
 */
export function redisAnswers(redis: RedisClient): ReadinessCheck {
  return async () => {
    if (redis.status !== 'ready') {
      await once(redis, 'ready', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    }
    await redis.ping();
  };
}

/** Writes and removes a small file in the store folder. */
export function storeWritable(storeDir: string): ReadinessCheck {
  return async () => {
    const probe = path.join(storeDir, `.ready-${randomUUID()}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  };
}

/** The backend selected at start-up is the one TensorFlow.js computes on. */
export function backendLoaded(selected: string): ReadinessCheck {
  return async () => {
    const active = tf.getBackend();
    if (active !== selected)
      throw new Error(`backend ${active ?? 'none'} is active, not ${selected}`);
  };
}

/** Runs every check at once; ready when all pass. */
export async function checkReadiness(checks: Record<string, ReadinessCheck>): Promise<Readiness> {
  const names = Object.keys(checks);
  const settled = await Promise.allSettled(names.map((name) => withDeadline(checks[name]())));
  const outcomes: Record<string, CheckOutcome> = {};
  const reasons: Record<string, string> = {};
  names.forEach((name, i) => {
    const outcome = settled[i];
    outcomes[name] = outcome.status === 'fulfilled' ? 'ok' : 'failed';
    if (outcome.status === 'rejected')
      reasons[name] = String(outcome.reason?.message ?? outcome.reason);
  });

  return { ready: Object.keys(reasons).length === 0, checks: outcomes, reasons };
}
