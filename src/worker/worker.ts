// The queue consumer: takes jobs, runs them, stores results, reports progress and failures.
import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import {
  encodeFailure,
  explanationPayloadSchema,
  JOB_NAMES,
  QUEUE_NAME,
} from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { Logger } from '../log/logger.js';
import type { ModelStore } from '../models/store.js';
import { runExplanation } from './explanation.js';
import { ModelCache } from './model-cache.js';

export interface WorkerDeps {
  config: Config;
  logger: Logger;
  connection: Redis;
  models: ModelStore;
  results: ResultStore;
}

export interface RunningWorker {
  worker: Worker;
  cache: ModelCache;
  close(): Promise<void>;
}

/** Progress is written to Redis at most this often. */
const PROGRESS_INTERVAL_MS = 250;

export function startWorker(deps: WorkerDeps): RunningWorker {
  const cache = new ModelCache(deps.models);
  const worker = new Worker(QUEUE_NAME, (job) => processJob(deps, cache, job), {
    connection: deps.connection,
    prefix: deps.config.QUEUE_PREFIX,
    concurrency: deps.config.WORKER_CONCURRENCY,
  });
  worker.on('failed', (job, err) => {
    deps.logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err }, 'job attempt failed');
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));

  return {
    worker,
    cache,
    close: async () => {
      await worker.close();
      await cache.clear();
    },
  };
}

async function processJob(deps: WorkerDeps, cache: ModelCache, job: Job): Promise<{ stored: true }> {
  const log = deps.logger.child({ jobId: job.id, type: job.name });
  const started = Date.now();
  const tensorsBefore = tf.memory().numTensors;
  log.info({ attempt: job.attemptsMade + 1 }, 'job started');
  try {
    if (job.name !== JOB_NAMES.EXPLANATION) throw new GlassboxError('GBX_ERR_UNSUPPORTED', `unknown job type ${job.name}`);
    const payload = explanationPayloadSchema.parse(job.data);
    const cached = await cache.get(payload.modelId);
    if (!cached) throw new GlassboxError('GBX_ERR_MODEL_NOT_FOUND', `model ${payload.modelId} no longer exists`);
    const tensorsWithModel = tf.memory().numTensors;
    const result = await runExplanation({
      payload,
      cached,
      batchRows: deps.config.BATCH_ROWS,
      onProgress: throttledProgress(job),
    });
    await deps.results.write(job.id as string, result);
    log.info(
      {
        modelId: payload.modelId,
        method: payload.method,
        durationMs: Date.now() - started,
        modelEvaluations: result.modelEvaluations,
        leakedTensors: tf.memory().numTensors - tensorsWithModel,
      },
      'job completed',
    );
    return { stored: true };
  } catch (err) {
    throw asJobError(err, log, tensorsBefore);
  }
}

/** Errors the job itself caused fail it at once; anything else is retried. */
function asJobError(err: unknown, log: Logger, tensorsBefore: number): Error {
  log.debug({ tensorsBefore, tensorsNow: tf.memory().numTensors }, 'tensor count after failure');
  if (err instanceof GlassboxError && err.statusCode < 500) {
    return new UnrecoverableError(encodeFailure({ code: err.code, message: err.message }));
  }
  if (err instanceof GlassboxError) return new Error(encodeFailure({ code: err.code, message: err.message }));
  log.error({ err }, 'job attempt crashed');
  return new Error(encodeFailure({ code: 'GBX_ERR_JOB_FAILED', message: 'the job failed in the worker' }));
}

function throttledProgress(job: Job): (fraction: number) => Promise<void> {
  let last = 0;
  return async (fraction) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    await job.updateProgress(Math.round(fraction * 1000) / 1000);
  };
}
