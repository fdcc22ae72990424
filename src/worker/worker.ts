// The queue consumer: takes jobs, runs them, stores results, reports progress and failures.
import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import { isCancellationRequested, JobCancelledError } from '../jobs/cancellation.js';
import { encodeFailure, QUEUE_NAME, type RedisClient } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { Logger } from '../log/logger.js';
import type { ModelStore } from '../models/store.js';
import { createLocalCompute, type ExplanationCompute } from './compute.js';
import { createComputePool } from './compute-pool.js';
import { JOB_HANDLERS } from './handlers.js';
import { ModelCache } from './model-cache.js';

export interface WorkerDeps {
  config: Config;
  logger: Logger;
  connection: RedisClient;
  models: ModelStore;
  results: ResultStore;
}

export interface RunningWorker {
  worker: Worker;
  cache: ModelCache;
  compute: ExplanationCompute;
  /** Resolves with the backend of each compute thread once they run; rejects if one cannot. */
  ready: Promise<string[]>;
  close(): Promise<void>;
}

/** Progress is written to Redis at most this often. */
const PROGRESS_INTERVAL_MS = 250;

export function startWorker(deps: WorkerDeps): RunningWorker {
  const cache = new ModelCache(deps.models, deps.config.MODEL_CACHE_BYTES);
  const { compute, ready } = startCompute(deps);
  const worker = new Worker(QUEUE_NAME, (job) => processJob(deps, { cache, compute }, job), {
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
    compute,
    ready,
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
      await compute.close();
      await cache.clear();
    },
  };
}

/** One compute thread per concurrency slot, or the main thread when threads are off. */
function startCompute(deps: WorkerDeps): { compute: ExplanationCompute; ready: Promise<string[]> } {
  const { config } = deps;
  const settings = {
    batchRows: config.BATCH_ROWS,
    cacheBytes: config.MODEL_CACHE_BYTES,
    exactMaxFeatures: config.EXACT_SHAP_MAX_FEATURES,
  };
  if (config.COMPUTE_THREADS === 'off') {
    return { compute: createLocalCompute(deps.models, settings), ready: Promise.resolve([tf.getBackend()]) };
  }
  const pool = createComputePool({
    ...settings,
    size: config.WORKER_CONCURRENCY,
    backend: config.TFJS_BACKEND,
    storeDir: config.storeDir,
    logger: deps.logger,
  });
  return { compute: pool, ready: pool.ready };
}

interface JobTools {
  cache: ModelCache;
  compute: ExplanationCompute;
}

async function processJob(deps: WorkerDeps, tools: JobTools, job: Job): Promise<{ stored: true }> {
  const log = deps.logger.child({ jobId: job.id, type: job.name });
  const started = Date.now();
  log.info({ attempt: job.attemptsMade + 1 }, 'job started');
  try {
    const handler = JOB_HANDLERS[job.name];
    if (!handler) throw new GlassboxError('GBX_ERR_UNSUPPORTED', `unknown job type ${job.name}`);
    const checkCancelled = cancellationCheck(deps, job);
    await checkCancelled();
    const tensorsBefore = tf.memory().numTensors;
    const outcome = await handler({
      job,
      ...tools,
      config: deps.config,
      results: deps.results,
      onProgress: throttledProgress(job),
      checkCancelled,
    });
    await deps.results.write(job.id as string, outcome.result);
    log.info(
      {
        ...outcome.summary,
        durationMs: Date.now() - started,
        tensorDelta:
          outcome.tensorDelta ?? tf.memory().numTensors - tensorsBefore - outcome.tensorsKept,
      },
      'job completed',
    );
    return { stored: true };
  } catch (err) {
    throw asJobError(err, log);
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
