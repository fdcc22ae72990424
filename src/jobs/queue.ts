// The job queue: its name, the payloads it carries, and how jobs are added and read back.
import { Queue, type Job, type JobsOptions } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config/index.js';

export const QUEUE_NAME = 'jobs';

/** Job names in the queue, one per kind of work. */
export const JOB_NAMES = {
  EXPLANATION: 'explanation',
  ACTIVATION_STATS: 'activation-stats',
  /** One chunk of a split explanation, a child of the `explanation` job that merges them. */
  EXPLANATION_CHUNK: 'explanation-chunk',
} as const;
export type JobType = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

export const EXPLANATION_METHODS = [
  'kernel_shap',
  'exact_shap',
  'sampling_shap',
  'lime',
  'permutation_importance',
] as const;
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
    outputs: z
      .union([z.enum(['all', 'top']), z.array(z.number().int().nonnegative())])
      .default('all'),
    /** Shapley methods: shrink the background to `size` weighted rows first. */
    backgroundSummary: z
      .object({ summarize: z.enum(['kmeans', 'sample']), size: z.number().int().positive() })
      .optional(),
    /** KernelSHAP only: features kept per output by l1 selection; null keeps all. */
    l1Features: z.number().int().positive().nullable().default(null),
    lime: z
      .object({
        numSamples: z.number().int().positive(),
        numFeatures: z.number().int().positive().optional(),
        featureSelection: z.enum([
          'auto',
          'forward_selection',
          'highest_weights',
          'lasso_path',
          'none',
        ]),
        discretizer: z.enum(['none', 'quartile', 'decile']),
        categorical: z.array(z.number().int().nonnegative()),
        kernelWidth: z.number().positive().optional(),
      })
      .optional(),
    permutation: z
      .object({
        labels: z.array(z.number()).optional(),
        metric: z.enum(['accuracy', 'log_loss', 'mse', 'mae', 'r2']).optional(),
        nRepeats: z.number().int().positive(),
        groups: z.array(z.array(z.number().int().nonnegative()).min(1)).optional(),
      })
      .optional(),
  }),
  /** On a chunk of a split request: its place in the chunk list and in the request. */
  chunk: z
    .object({
      index: z.number().int().nonnegative(),
      firstInstance: z.number().int().nonnegative(),
    })
    .optional(),
  /** On the parent of a split request, which carries no rows itself: how it was split. */
  split: z
    .object({ chunkCount: z.number().int().positive(), instanceCount: z.number().int().positive() })
    .optional(),
});

export type ExplanationPayload = z.infer<typeof explanationPayloadSchema>;

/** What a worker needs to compute activation statistics; samples are flat rows. */
export const activationStatsPayloadSchema = z.object({
  /** The tenant that submitted the job; its model is looked up under this tenant only. */
  tenant: z.string(),
  modelId: z.string(),
  samples: z.array(z.array(z.number())),
  /** Layer (or graph node) paths to report; null reports every one. */
  layers: z.array(z.string()).nullable(),
  params: z.object({
    histogramBins: z.number().int().min(0),
    driftThreshold: z.number().positive(),
  }),
});

export type ActivationStatsPayload = z.infer<typeof activationStatsPayloadSchema>;

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

/** A connection to one Redis server or to a Redis Cluster; BullMQ takes either. */
export type RedisClient = Redis | Cluster;

/**
 * Connects to REDIS_URL; with REDIS_CLUSTER=on that address is a seed node and the client
 * discovers the rest of the cluster from it.
 */
export function createRedis(config: Config, forWorker: boolean): RedisClient {
  const options = redisOptions(forWorker);
  if (config.REDIS_CLUSTER === 'off') return new Redis(config.REDIS_URL, options);
  const url = new URL(config.REDIS_URL);
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    redisOptions: {
      ...options,
      username: url.username || undefined,
      password: decodeURIComponent(url.password) || undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
    },
    enableOfflineQueue: options.enableOfflineQueue,
    clusterRetryStrategy: options.retryStrategy,
  });
}

export function createJobQueue(config: Config, connection: RedisClient): Queue {
  return new Queue(QUEUE_NAME, { connection, prefix: config.QUEUE_PREFIX });
}

/** Retry and retention settings for every job. */
export function jobOptions(config: Config, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: config.JOB_RETENTION_SECONDS, count: config.JOB_RETENTION_COUNT },
    removeOnFail: { age: config.JOB_RETENTION_SECONDS, count: config.JOB_RETENTION_COUNT },
  };
}

/** Job id of chunk `index` of a split request; the parent's result merges them in this order. */
export function chunkJobId(parentId: string, index: number): string {
  return `${parentId}-chunk-${index}`;
}

/** Job ids of every chunk of a split request, in order. */
export function chunkJobIds(parentId: string, chunkCount: number): string[] {
  return Array.from({ length: chunkCount }, (_, index) => chunkJobId(parentId, index));
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
