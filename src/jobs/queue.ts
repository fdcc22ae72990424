// The job queue: its name, the payloads it carries, and how jobs are added and read back.
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config/index.js';

export const QUEUE_NAME = 'jobs';

/** Job names in the queue, one per kind of work. */
export const JOB_NAMES = { EXPLANATION: 'explanation' } as const;
export type JobType = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

export const EXPLANATION_METHODS = ['kernel_shap', 'exact_shap'] as const;
export type ExplanationMethod = (typeof EXPLANATION_METHODS)[number];

/** What a worker needs to run one explanation; checked again when the worker reads it. */
export const explanationPayloadSchema = z.object({
  /** The tenant that submitted the job; its model is looked up under this tenant only. */
  tenant: z.string(),
  modelId: z.string(),
  method: z.enum(EXPLANATION_METHODS),
  instances: z.array(z.array(z.number())),
  background: z.array(z.array(z.number())),
  params: z.object({
    nsamples: z.union([z.literal('auto'), z.number().int().positive()]),
    link: z.enum(['identity', 'logit']),
    seed: z.number().int(),
  }),
});

export type ExplanationPayload = z.infer<typeof explanationPayloadSchema>;

/** Redis connection options shared by every client of one process. */
export function redisOptions(forWorker: boolean): RedisOptions {
  return {
    // A worker's blocking commands must wait out a Redis restart instead of failing.
    maxRetriesPerRequest: forWorker ? null : 1,
    enableOfflineQueue: forWorker,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
}

export function createRedis(config: Config, forWorker: boolean): Redis {
  return new Redis(config.REDIS_URL, redisOptions(forWorker));
}

export function createJobQueue(config: Config, connection: Redis): Queue {
  return new Queue(QUEUE_NAME, { connection, prefix: config.QUEUE_PREFIX });
}

/** Retry and retention settings for every job. */
export function jobOptions(config: Config, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** A failed job's reason as the API reports it. */
export interface JobFailure {
  code: string;
  message: string;
}

/** Workers fail jobs with a JSON reason so that the error code survives the trip through Redis. */
export function encodeFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeFailure(reason: string | undefined): JobFailure {
  try {
    const parsed = JSON.parse(reason ?? '') as Partial<JobFailure>;
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') {
      return { code: parsed.code, message: parsed.message };
    }
  } catch {
    // Reasons written by BullMQ itself (a stalled job, say) are plain text.
  }
  return { code: 'GBX_ERR_JOB_FAILED', message: reason ?? 'the job failed' };
}

export type AnyJob = Job<unknown, unknown, string>;

/** The tenant a job belongs to: every payload carries one under `tenant`. */
export function jobTenant(job: AnyJob): string | undefined {
  const data = job.data as { tenant?: unknown } | undefined;
  return typeof data?.tenant === 'string' ? data.tenant : undefined;
}
