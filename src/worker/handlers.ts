// Job handlers by job name: each turns a job's payload into a stored result.
import type { Job } from 'bullmq';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import {
  activationStatsPayloadSchema,
  explanationPayloadSchema,
  JOB_NAMES,
} from '../jobs/queue.js';
import { runActivationStats } from './activation-stats.js';
import { runExplanation } from './explanation.js';
import type { ModelCache } from './model-cache.js';

export interface JobRun {
  job: Job;
  cache: ModelCache;
  config: Config;
  /** Receives the fraction done, 0..1; throttled before it reaches Redis. */
  onProgress: (fraction: number) => Promise<void>;
  /** Throws JobCancelledError once the job has been cancelled; call it between batches. */
  checkCancelled: () => Promise<void>;
}

export interface JobOutcome {
  /** Stored as the job's result. */
  result: unknown;
  /** Fields for the completion log line. */
  summary: Record<string, unknown>;
  /** Tensors the job left alive on purpose (a model it loaded into the cache). */
  tensorsKept: number;
}

export type JobHandler = (run: JobRun) => Promise<JobOutcome>;

async function handleExplanation(run: JobRun): Promise<JobOutcome> {
  const parsed = explanationPayloadSchema.safeParse(run.job.data);
  if (!parsed.success) {
    throw new GlassboxError('GBX_ERR_VALIDATION', `malformed job payload: ${parsed.error.message}`);
  }
  const payload = parsed.data;
  const before = tf.memory().numTensors;
  const cached = await run.cache.get(payload.tenant, payload.modelId);
  if (!cached) {
    throw new GlassboxError('GBX_ERR_MODEL_NOT_FOUND', `model ${payload.modelId} no longer exists`);
  }
  const tensorsKept = tf.memory().numTensors - before;
  const result = await runExplanation({
    payload,
    cached,
    batchRows: run.config.BATCH_ROWS,
    exactMaxFeatures: run.config.EXACT_SHAP_MAX_FEATURES,
    // BullMQ renews the lock every half lock duration; slices of an eighth leave a wide margin.
    sliceTargetMs: run.config.JOB_LOCK_DURATION_MS / 8,
    onProgress: run.onProgress,
    checkCancelled: run.checkCancelled,
  });
  return {
    result,
    summary: {
      modelId: payload.modelId,
      method: payload.method,
      modelEvaluations: result.modelEvaluations,
    },
    tensorsKept,
  };
}

async function handleActivationStats(run: JobRun): Promise<JobOutcome> {
  const parsed = activationStatsPayloadSchema.safeParse(run.job.data);
  if (!parsed.success) {
    throw new GlassboxError('GBX_ERR_VALIDATION', `malformed job payload: ${parsed.error.message}`);
  }
  const payload = parsed.data;
  const before = tf.memory().numTensors;
  const cached = await run.cache.get(payload.tenant, payload.modelId);
  if (!cached) {
    throw new GlassboxError('GBX_ERR_MODEL_NOT_FOUND', `model ${payload.modelId} no longer exists`);
  }
  const tensorsKept = tf.memory().numTensors - before;
  const result = await runActivationStats({
    payload,
    cached,
    batchValueBudget: run.config.ACTIVATION_BATCH_VALUES,
    maxBatchRows: run.config.BATCH_ROWS,
    onProgress: run.onProgress,
  });
  return {
    result,
    summary: {
      modelId: payload.modelId,
      samples: result.sampleCount,
      layers: result.layers.length,
      batchRows: result.batchRows,
      driftedBatchNormLayers: result.batchNormSummary.drifted.length,
    },
    tensorsKept,
  };
}

export const JOB_HANDLERS: Record<string, JobHandler> = {
  [JOB_NAMES.EXPLANATION]: handleExplanation,
  [JOB_NAMES.ACTIVATION_STATS]: handleActivationStats,
};
