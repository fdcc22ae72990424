// Job handlers by job name: each turns a job's payload into a stored result.
import type { Job } from 'bullmq';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import {
  activationStatsPayloadSchema,
  chunkJobIds,
  explanationPayloadSchema,
  JOB_NAMES,
  type ExplanationPayload,
} from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import { runActivationStats } from './activation-stats.js';
import { mergeChunkResults } from './chunks.js';
import type { ExplanationCompute } from './compute.js';
import type { ModelCache } from './model-cache.js';

export interface JobRun {
  job: Job;
  cache: ModelCache;
  config: Config;
  /** Runs explanations off the main thread (or on it, with COMPUTE_THREADS=off). */
  compute: ExplanationCompute;
  /** Where results are stored; a split job's parent reads its chunks' results here. */
  results: ResultStore;
  /** Receives the fraction done, 0..1; throttled before it reaches Redis. */
  onProgress: (fraction: number) => Promise<void>;
  /** Throws JobCancelledError once the job has been cancelled; call it between batches. */
  checkCancelled: () => Promise<void>;
  /** Another job of the queue, by id (a split request's chunks). */
  readJob: (id: string) => Promise<Job | undefined>;
}

export interface JobOutcome {
  /** Stored as the job's result. */
  result: unknown;
  /** Fields for the completion log line. */
  summary: Record<string, unknown>;
  /** Tensors the job left alive on purpose (a model it loaded into the cache). */
  tensorsKept: number;
  /** Tensors leaked, when the handler measured them itself (in the thread that computed). */
  tensorDelta?: number;
  /** When the work began, in ms since the epoch, when that was before this job ran. */
  startedAt?: number;
}

export type JobHandler = (run: JobRun) => Promise<JobOutcome>;

function parsePayload(data: unknown): ExplanationPayload {
  const parsed = explanationPayloadSchema.safeParse(data);
  if (!parsed.success) {
    throw new GlassboxError('GBX_ERR_VALIDATION', `malformed job payload: ${parsed.error.message}`);
  }
  return parsed.data;
}

async function handleExplanation(run: JobRun): Promise<JobOutcome> {
  const payload = parsePayload(run.job.data);
  if (payload.split) return mergeSplitExplanation(run, payload.split.chunkCount);
  const outcome = await run.compute.explain(
    payload,
    (fraction) => {
      run.onProgress(fraction).catch(() => undefined);
    },
    run.checkCancelled,
  );
  return {
    result: outcome.result,
    summary: {
      modelId: payload.modelId,
      method: payload.method,
      modelEvaluations: outcome.result.modelEvaluations,
      chunk: payload.chunk?.index,
    },
    tensorsKept: outcome.tensorsKept,
    tensorDelta: outcome.tensorDelta,
  };
}

/** The parent of a split request runs once every chunk has stored its result. */
async function mergeSplitExplanation(run: JobRun, chunkCount: number): Promise<JobOutcome> {
  await run.onProgress(0.99);
  const parentId = run.job.id as string;
  const result = await mergeChunkResults(run.results, parentId, chunkCount);
  return {
    result,
    summary: { chunks: chunkCount, modelEvaluations: result.modelEvaluations },
    tensorsKept: 0,
    tensorDelta: 0,
    startedAt: await firstChunkStart(run, parentId, chunkCount),
  };
}

/** When the first of a split request's chunks started; undefined when none can be read. */
async function firstChunkStart(
  run: JobRun,
  parentId: string,
  chunkCount: number,
): Promise<number | undefined> {
  const chunks = await Promise.all(chunkJobIds(parentId, chunkCount).map(run.readJob));
  const starts = chunks.map((chunk) => chunk?.processedOn).filter((t) => typeof t === 'number');
  return starts.length > 0 ? Math.min(...(starts as number[])) : undefined;
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
    // Between batches: a cancellation, a hand-back on shutdown or the time limit stops the job.
    onProgress: async (fraction) => {
      await run.onProgress(fraction);
      await run.checkCancelled();
    },
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
  [JOB_NAMES.EXPLANATION_CHUNK]: handleExplanation,
  [JOB_NAMES.ACTIVATION_STATS]: handleActivationStats,
};
