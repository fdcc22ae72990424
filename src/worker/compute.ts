// Where explanations are computed: in the calling thread, or in a pool of worker threads
// (compute-pool.ts) that each run this same local compute.
import * as tf from '@tensorflow/tfjs';
import { GlassboxError } from '../errors.js';
import type { ExplanationPayload } from '../jobs/queue.js';
import { modelEvaluator, runExplanation, type ExplanationJobResult } from './explanation.js';
import type { MethodHost } from './method-host.js';
import { ModelCache, type ModelSource } from './model-cache.js';

/** One explanation's result and what it did to the tensor count of the thread it ran in. */
export interface ComputeOutcome {
  result: ExplanationJobResult;
  /** Tensors left alive on purpose: the weights of a model it loaded into the cache. */
  tensorsKept: number;
  /** Tensors left alive by mistake: 0 unless something leaks. */
  tensorDelta: number;
}

/** TensorFlow.js memory of one compute thread. */
export interface ComputeMemory {
  numTensors: number;
  numBytes: number;
  cachedModelBytes: number;
}

/** Runs explanations; the worker holds one and hands it every explanation job. */
export interface ExplanationCompute {
  /**
   * Computes one explanation.
   * @param onProgress - receives the fraction of model rows done, 0..1.
   * @param checkCancelled - called between model batches; whatever it throws stops the job
   *   and is what the returned promise rejects with.
   * @throws GlassboxError for a missing model or bad input; other errors for crashes.
   */
  explain(
    payload: ExplanationPayload,
    onProgress: (fraction: number) => void,
    checkCancelled?: () => Promise<void>,
  ): Promise<ComputeOutcome>;
  /** Memory of every compute thread. */
  memory(): Promise<ComputeMemory[]>;
  /** Drops cached models and stops any threads. */
  close(): Promise<void>;
}

export interface LocalComputeOptions {
  /** Rows per model call. */
  batchRows: number;
  /** Weight bytes of the model cache. */
  cacheBytes: number;
  /** Most features exact_shap enumerates. */
  exactMaxFeatures?: number;
  /**
   * Longest a model call may hold the event loop; calls are sliced to about this long. Set when
   * computing on the worker's main thread; a compute thread has no lock to renew.
   */
  sliceTargetMs?: number;
  /**
   * Runs the methods in a thread of their own while this one runs the model, so the two
   * overlap. Absent: methods run here, between model calls.
   */
  methods?: MethodHost;
}

/**
 * Computes with the calling thread's TensorFlow.js backend and its own model cache; the methods
 * run here too unless `options.methods` hosts them elsewhere.
 */
export function createLocalCompute(
  source: ModelSource,
  options: LocalComputeOptions,
): ExplanationCompute {
  const cache = new ModelCache(source, options.cacheBytes);
  return {
    explain: async (payload, onProgress, checkCancelled) => {
      const before = tf.memory().numTensors;
      const cached = await cache.get(payload.tenant, payload.modelId);
      if (!cached) {
        throw new GlassboxError(
          'GBX_ERR_MODEL_NOT_FOUND',
          `model ${payload.modelId} no longer exists`,
        );
      }
      const tensorsKept = tf.memory().numTensors - before;
      const result = options.methods
        ? await options.methods.run(
            {
              payload,
              record: cached.record,
              batchRows: options.batchRows,
              exactMaxFeatures: options.exactMaxFeatures,
            },
            modelEvaluator(cached),
            onProgress,
            checkCancelled,
          )
        : await runExplanation({
            payload,
            cached,
            batchRows: options.batchRows,
            exactMaxFeatures: options.exactMaxFeatures,
            sliceTargetMs: options.sliceTargetMs,
            onProgress,
            checkCancelled,
          });
      return { result, tensorsKept, tensorDelta: tf.memory().numTensors - before - tensorsKept };
    },
    memory: async () => [
      {
        numTensors: tf.memory().numTensors,
        numBytes: tf.memory().numBytes,
        cachedModelBytes: cache.bytes,
      },
    ],
    close: async () => {
      await options.methods?.close();
      await cache.clear();
    },
  };
}
