// The queue consumer: takes jobs, runs them, stores results, reports progress and failures.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import { isCancellationRequested, JobCancelledError } from '../jobs/cancellation.js';
import { encodeFailure, QUEUE_NAME } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { Logger } from '../log/logger.js';
import type { ModelStore } from '../models/store.js';
import { JOB_HANDLERS } from './handlers.js';
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
    lockDuration: deps.config.JOB_LOCK_DURATION_MS,
    stalledInterval: deps.config.JOB_STALLED_INTERVAL_MS,
    maxStalledCount: deps.config.JOB_MAX_STALLED,
  });
  worker.on('stalled', (jobId) => {
    deps.logger.warn({ jobId }, 'job stalled: its worker stopped renewing the lock');
  });
  worker.on('failed', (job, err) => {
    deps.logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err }, 'job attempt failed');
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));

  return {
    worker,
    cache,
    close: async () => {
      // A job still running after the grace period is abandoned: its lock lapses and another
      // worker takes it up, so nothing accepted is lost.
      const grace = new Promise<'late'>((resolve) => {
        setTimeout(() => resolve('late'), deps.config.SHUTDOWN_GRACE_MS).unref();
      });
      if ((await Promise.race([worker.close(), grace])) === 'late') {
        deps.logger.warn({ graceMs: deps.config.SHUTDOWN_GRACE_MS }, 'jobs left to other workers');
        await worker.close(true);
      }
      await cache.clear();
    },
  };
}

async function processJob(deps: WorkerDeps, cache: ModelCache, job: Job): Promise<{ stored: true }> {
  const log = deps.logger.child({ jobId: job.id, type: job.name });
  const started = Date.now();
  log.info({ attempt: job.attemptsMade + 1 }, 'job started');
  // A job whose result is already stored ran to the end in a worker that died before it could
  // mark it completed: the result stands, and running it again would only replace it.
  if (await deps.results.exists(job.id as string)) {
    log.info('job result already stored; completing without running it again');
    return { stored: true };
  }
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  try {
    const handler = JOB_HANDLERS[job.name];
    if (!handler) throw new GlassboxError('GBX_ERR_UNSUPPORTED', `unknown job type ${job.name}`);
    const checkCancelled = cancellationCheck(deps, job);
    await checkCancelled();
    const tensorsBefore = tf.memory().numTensors;
    const outcome = await handler({
      job,
      cache,
      config: deps.config,
      onProgress: throttledProgress(job),
      checkCancelled,
    });
    await deps.results.write(job.id as string, outcome.result);
    log.info(
      {
        ...outcome.summary,
        durationMs: Date.now() - started,
        tensorDelta: tf.memory().numTensors - tensorsBefore - outcome.tensorsKept,
        eventLoopMaxDelayMs: Math.round(delay.max / 1e6),
      },
      'job completed',
    );
    return { stored: true };
  } catch (err) {
    throw asJobError(err, log);
  } finally {
    delay.disable();
  }
}

/** Errors the job itself caused fail it at once; anything else is retried. */
function asJobError(err: unknown, log: Logger): Error {
  if (err instanceof JobCancelledError) {
    log.info('job cancelled');
    const failure = { code: 'GBX_ERR_JOB_CANCELLED', message: err.message };
    return new UnrecoverableError(encodeFailure(failure));
  }
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

/** Reads the job's cancellation flag; one Redis read per call, made between model batches. */
function cancellationCheck(deps: WorkerDeps, job: Job): () => Promise<void> {
  const jobId = job.id as string;
  return async () => {
    if (await isCancellationRequested(deps.connection, deps.config.QUEUE_PREFIX, jobId)) {
      throw new JobCancelledError(jobId);
    }
  };
}
