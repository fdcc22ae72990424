// The queue consumer: takes jobs, runs them, stores results, reports progress and failures.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import { cancelledJob, JobCancelledError } from '../jobs/cancellation.js';
import { markSplitRequestEnded } from '../jobs/flows.js';
import { encodeFailure, JOB_NAMES, QUEUE_NAME, type RedisClient } from '../jobs/queue.js';
import { queueHoldsJob, sweepResults } from '../jobs/result-retention.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { Logger } from '../log/logger.js';
import type { ModelStore } from '../models/store.js';
import {
  createMetrics,
  recordCompletedJob,
  recordFinishedJob,
  type Metrics,
} from '../ops/metrics.js';
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
  /** Where job counts and durations are recorded; a fresh registry when absent. */
  metrics?: Metrics;
}

export interface RunningWorker {
  worker: Worker;
  cache: ModelCache;
  compute: ExplanationCompute;
  /** Resolves with the backend of each compute thread once they run; rejects if one cannot. */
  ready: Promise<string[]>;
  metrics: Metrics;
  close(): Promise<void>;
}

/** Progress is written to Redis at most this often. */
const PROGRESS_INTERVAL_MS = 250;

/** After the grace period, how long running jobs get to reach a batch boundary and hand back. */
const HAND_BACK_WAIT_MS = 5000;

/** Thrown between model batches by a job past JOB_TIMEOUT_MS. */
function timeoutError(timeoutMs: number): GlassboxError {
  return new GlassboxError(
    'GBX_ERR_JOB_TIMEOUT',
    `the job ran past its time limit JOB_TIMEOUT_MS (${timeoutMs} ms)`,
  );
}

/** Thrown between model batches once the worker is shutting down and hands its jobs back. */
class JobHandedBackError extends Error {
  constructor() {
    super('the worker is shutting down and hands the job back');
    this.name = 'JobHandedBackError';
  }
}

/** Shared by a worker's jobs: set when the grace period of a shutdown has run out. */
interface ShutdownState {
  handingBack: boolean;
}

export function startWorker(deps: WorkerDeps): RunningWorker {
  const cache = new ModelCache(deps.models, deps.config.MODEL_CACHE_BYTES);
  const { compute, ready } = startCompute(deps);
  const metrics = deps.metrics ?? createMetrics();
  const shutdown: ShutdownState = { handingBack: false };
  // Jobs are read through the worker's own connection; `worker` is set before any job runs.
  const readJob = (id: string): Promise<Job | undefined> => Job.fromId(worker, id);
  const tools = { cache, compute, shutdown, readJob };
  const run = (job: Job, token?: string) => processJob(deps, metrics, tools, job, token);
  const worker = new Worker(QUEUE_NAME, run, {
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
  worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));
  const sweeper = startResultSweeper(deps);

  return {
    worker,
    cache,
    compute,
    ready,
    metrics,
    close: async () => {
      clearInterval(sweeper);
      // Jobs still running after the grace period stop at their next model batch and go back to
      // the wait list for another worker. One that does not stop in time is abandoned: its lock
      // lapses and another worker takes it up, so nothing accepted is lost either way.
      const closed = worker.close();
      if ((await settleWithin(closed, deps.config.SHUTDOWN_GRACE_MS)) === 'late') {
        shutdown.handingBack = true;
        deps.logger.info({ graceMs: deps.config.SHUTDOWN_GRACE_MS }, 'handing running jobs back');
        if ((await settleWithin(closed, HAND_BACK_WAIT_MS)) === 'late') {
          deps.logger.warn('jobs left to other workers once their locks lapse');
          await worker.close(true);
        }
      }
      await compute.close();
      await cache.clear();
    },
  };
}

/** Removes, now and then, the stored results of jobs retention has removed from the queue. */
function startResultSweeper(deps: WorkerDeps): NodeJS.Timeout {
  const jobHeld = queueHoldsJob(deps.connection, deps.config.QUEUE_PREFIX);
  const sweep = async () => {
    const removed = await sweepResults(deps.results, jobHeld);
    if (removed.length > 0) deps.logger.info({ removed: removed.length }, 'old results removed');
  };
  const timer = setInterval(() => {
    sweep().catch((err) => deps.logger.warn({ err }, 'result sweep failed'));
  }, deps.config.RESULT_SWEEP_INTERVAL_MS);
  timer.unref();
  return timer;
}

/** Waits for `work` at most `ms` milliseconds. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    return await Promise.race([work.then(() => 'done' as const), late]);
  } finally {
    clearTimeout(timer);
  }
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
    // Here the model calls share the event loop with lock renewal: slice them so that renewals
    // (every half lock duration) always get their turn.
    const local = { ...settings, sliceTargetMs: config.JOB_LOCK_DURATION_MS / 8 };
    return {
      compute: createLocalCompute(deps.models, local),
      ready: Promise.resolve([tf.getBackend()]),
    };
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
  shutdown: ShutdownState;
  readJob: (id: string) => Promise<Job | undefined>;
}

async function processJob(
  deps: WorkerDeps,
  metrics: Metrics,
  { shutdown, ...tools }: JobTools,
  job: Job,
  token: string | undefined,
): Promise<{ stored: true }> {
  const log = deps.logger.child({ jobId: job.id, type: job.name, modelId: modelIdOf(job) });
  const started = Date.now();
  const attempt = job.attemptsMade + 1;
  log.info({ attempt }, 'job started');
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
    const deadline = started + deps.config.JOB_TIMEOUT_MS;
    const checkCancelled = cancellationCheck(deps, job, shutdown, deadline);
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
    if (shutdown.handingBack) throw new JobHandedBackError();
    await deps.results.write(job.id as string, outcome.result);
    // A split request's parent runs only to merge: its duration counts from its first chunk.
    const durationMs = Date.now() - (outcome.startedAt ?? started);
    recordCompletedJob(metrics, {
      type: job.name,
      method: typeof outcome.summary.method === 'string' ? outcome.summary.method : job.name,
      durationSeconds: durationMs / 1000,
      modelRows: Number(outcome.summary.modelEvaluations ?? 0),
    });
    // The model id is already bound to the job's logger.
    const { modelId: _boundAlready, ...summary } = outcome.summary;
    log.info(
      {
        ...summary,
        attempt,
        durationMs,
        tensorDelta:
          outcome.tensorDelta ?? tf.memory().numTensors - tensorsBefore - outcome.tensorsKept,
        eventLoopMaxDelayMs: Math.round(delay.max / 1e6),
      },
      'job completed',
    );
    return { stored: true };
  } catch (err) {
    if (err instanceof JobHandedBackError) {
      // Back to the wait list with its lock released; the attempt is not counted.
      await job.moveToWait(token);
      log.info({ attempt, durationMs: Date.now() - started }, 'job handed back');
      throw new WaitingError();
    }
    const jobError = asJobError(err, log);
    const ended = { attempt, durationMs: Date.now() - started };
    if (err instanceof JobCancelledError) {
      recordFinishedJob(metrics, job.name, 'cancelled');
      log.info(ended, 'job cancelled');
      await recordRequestEnd(deps, metrics, job, 'cancelled');
      throw jobError;
    }
    const final = jobError instanceof UnrecoverableError || attempt >= (job.opts.attempts ?? 1);
    if (final) recordFinishedJob(metrics, job.name, 'failed');
    log.warn({ ...ended, err: jobError }, final ? 'job failed' : 'job attempt failed, will retry');
    if (final) await recordRequestEnd(deps, metrics, job, 'failed');
    throw jobError;
  } finally {
    delay.disable();
  }
}

/**
 * A chunk that ends its request (cancelled, or failed for good, which fails the parent in
 * Redis without the parent ever running) logs and counts the parent's end, once per parent
 * however many chunks end alike: the first to set the parent's mark records it.
 */
async function recordRequestEnd(
  deps: WorkerDeps,
  metrics: Metrics,
  job: Job,
  state: 'cancelled' | 'failed',
): Promise<void> {
  const parentId = job.parent?.id;
  if (!parentId) return;
  const log = deps.logger.child({ jobId: parentId, type: JOB_NAMES.EXPLANATION });
  try {
    const prefix = deps.config.QUEUE_PREFIX;
    if (!(await markSplitRequestEnded(deps.connection, prefix, parentId, state))) return;
    recordFinishedJob(metrics, JOB_NAMES.EXPLANATION, state);
    if (state === 'cancelled') log.info({ chunk: job.id }, 'job cancelled');
    else log.warn({ chunk: job.id }, 'job failed: a chunk failed every attempt');
  } catch (err) {
    log.warn({ err }, 'could not record the end of a split request');
  }
}

/** The model a job works on, when its payload names one; payloads are otherwise not logged. */
function modelIdOf(job: Job): string | undefined {
  const data = job.data as { modelId?: unknown } | undefined;
  return typeof data?.modelId === 'string' ? data.modelId : undefined;
}

/** Errors the job itself caused fail it at once; anything else is retried. */
function asJobError(err: unknown, log: Logger): Error {
  if (err instanceof JobCancelledError) {
    const failure = { code: 'GBX_ERR_JOB_CANCELLED', message: err.message };
    return new UnrecoverableError(encodeFailure(failure));
  }
  if (err instanceof GlassboxError && err.statusCode < 500) {
    return new UnrecoverableError(encodeFailure({ code: err.code, message: err.message }));
  }
  if (err instanceof GlassboxError) {
    return new Error(encodeFailure({ code: err.code, message: err.message }));
  }
  log.error({ err }, 'job attempt crashed');
  return new Error(
    encodeFailure({ code: 'GBX_ERR_JOB_FAILED', message: 'the job failed in the worker' }),
  );
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

/**
 * Reads the job's cancellation flag, and its parent's for a chunk (one Redis read per call, made
 * between model batches), and stops the job when the worker is handing its jobs back or the job
 * is past its deadline.
 * Limitation: a job stops at a batch boundary, because a model call cannot be interrupted; one
 * batch longer than JOB_TIMEOUT_MS runs to its end first.
 */
function cancellationCheck(
  deps: WorkerDeps,
  job: Job,
  shutdown: ShutdownState,
  deadline: number,
): () => Promise<void> {
  const jobId = job.id as string;
  // A chunk of a split request also stops when the request as a whole is cancelled.
  const parentId = job.parent?.id;
  const flagged = parentId ? [jobId, parentId] : [jobId];
  return async () => {
    if (shutdown.handingBack) throw new JobHandedBackError();
    if (Date.now() > deadline) throw timeoutError(deps.config.JOB_TIMEOUT_MS);
    const cancelled = await cancelledJob(deps.connection, deps.config.QUEUE_PREFIX, flagged);
    if (cancelled) throw new JobCancelledError(cancelled);
  };
}
