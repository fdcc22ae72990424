// The explanation methods behind one job: the algorithm from explain/ run against any model
// evaluator, its result shaped for the store. Nothing here loads TensorFlow.js, so this also
// runs in a thread that holds no model.
import { performance } from 'node:perf_hooks';
import { GlassboxError } from '../errors.js';
import { summarizeBackground } from '../explain/background.js';
import {
  toBackground,
  type Background,
  type EvaluationContext,
  type ModelEvaluator,
  type RowBuffers,
} from '../explain/coalition-values.js';
import { exactShap } from '../explain/exact-shap.js';
import { kernelShap, type ShapleyResult } from '../explain/kernel-shap.js';
import { lime } from '../explain/lime.js';
import { clippingWarnings } from '../explain/link.js';
import { pickFeatureOutputs, pickOutputs, selectOutputIndices } from '../explain/outputs.js';
import { permutationImportance } from '../explain/permutation-importance.js';
import { autoPermutationCount, samplingShap } from '../explain/sampling-shap.js';
import type { ExplanationMethod, ExplanationPayload } from '../jobs/queue.js';
import type { ModelRecord } from '../models/store.js';
import { slicedEvaluator } from './sliced-evaluator.js';

/**
 * What every explanation result carries; the method adds its own arrays. Per-instance arrays
 * end in an output axis listing, for instance i, the model outputs `outputIndices[i]`.
 */
export interface ExplanationJobResult {
  method: ExplanationMethod;
  featureNames: string[];
  outputNames: string[];
  seed: number;
  modelEvaluations: number;
  computeMs: number;
  warnings: string[];
  [field: string]: unknown;
}

/** One explanation to compute: the request, the model's record and a way to run the model. */
export interface MethodRun {
  payload: ExplanationPayload;
  record: ModelRecord;
  /** Runs the model on flat rows. */
  evaluate: ModelEvaluator;
  batchRows: number;
  /** Most varying features exact_shap enumerates; defaults to 16. */
  exactMaxFeatures?: number;
  /**
   * Time one model call may hold the event loop; calls are sliced to about this long. Unset:
   * calls run whole (in a compute thread, where no lock renewal waits on the loop).
   */
  sliceTargetMs?: number;
  /** Receives the fraction of model rows done, 0..1. */
  onProgress: (fraction: number) => void | Promise<void>;
  /** Throws when the job has been cancelled; called after every batch. */
  checkCancelled?: () => Promise<void>;
  /** Buffers for masked rows, kept from job to job. */
  rowBuffers?: RowBuffers;
}

type MethodRunner = (
  ctx: EvaluationContext,
  payload: ExplanationPayload,
  run: MethodRun,
) => Promise<Record<string, unknown>>;

/** One runner per method; each calls a pure function from explain/ and shapes its result. */
const METHOD_RUNNERS: Record<ExplanationMethod, MethodRunner> = {
  exact_shap: async (ctx, payload, run) =>
    shapleyFields(
      payload,
      await exactShap(ctx, payload.instances, shapleyBackground(payload), run.exactMaxFeatures),
    ),
  kernel_shap: async (ctx, payload) =>
    shapleyFields(
      payload,
      await kernelShap(ctx, payload.instances, shapleyBackground(payload), {
        nsamples: payload.params.nsamples,
        seed: payload.params.seed,
        l1Features: payload.params.l1Features,
        firstInstance: payload.chunk?.firstInstance ?? 0,
      }),
    ),
  sampling_shap: async (ctx, payload) =>
    shapleyFields(
      payload,
      await samplingShap(ctx, payload.instances, shapleyBackground(payload), {
        permutations: payload.params.nsamples,
        seed: payload.params.seed,
        firstInstance: payload.chunk?.firstInstance ?? 0,
      }),
    ),
  lime: async (ctx, payload) => {
    const options = payload.params.lime ?? LIME_DEFAULTS;
    const result = await lime(ctx, payload.instances, payload.background, {
      ...options,
      seed: payload.params.seed,
      firstInstance: payload.chunk?.firstInstance ?? 0,
      ridgeAlpha: 1,
    });
    const indices = selectOutputIndices(payload.params.outputs, result.outputs, ctx.outputCount);
    return {
      link: payload.params.link,
      numSamples: options.numSamples,
      kernelWidth: result.kernelWidth,
      outputIndices: indices,
      outputs: pickOutputs(result.outputs, indices),
      intercepts: pickOutputs(result.intercepts, indices),
      weights: pickFeatureOutputs(result.weights, indices),
      scores: pickOutputs(result.scores, indices),
      localPredictions: pickOutputs(result.localPredictions, indices),
    };
  },
  permutation_importance: async (ctx, payload) => {
    const options = payload.params.permutation ?? { nRepeats: 5 };
    const result = await permutationImportance(ctx, payload.instances, {
      ...options,
      seed: payload.params.seed,
    });
    return {
      metric: options.labels ? (options.metric ?? 'accuracy') : 'mean_absolute_output_change',
      nRepeats: options.nRepeats,
      baselineScore: result.baselineScore,
      importances: result.importances,
    };
  },
};

export const LIME_DEFAULTS = {
  numSamples: 5000,
  featureSelection: 'auto',
  discretizer: 'none',
  categorical: [],
} as const satisfies NonNullable<ExplanationPayload['params']['lime']>;

/** The background rows, summarized to weighted rows when the request asked for it. */
function shapleyBackground(payload: ExplanationPayload): Background {
  const summary = payload.params.backgroundSummary;
  if (!summary) return toBackground(payload.background);
  const { rows, weights } = summarizeBackground(
    payload.background,
    summary.summarize,
    summary.size,
    payload.params.seed,
  );
  return toBackground(rows, weights);
}

function shapleyFields(
  payload: ExplanationPayload,
  result: ShapleyResult,
): Record<string, unknown> {
  const indices = selectOutputIndices(
    payload.params.outputs,
    result.outputs,
    result.baseValues.length,
  );
  return {
    link: payload.params.link,
    nsamples: result.nsamples,
    outputIndices: indices,
    baseValues: result.baseValues,
    outputs: pickOutputs(result.outputs, indices),
    values: pickFeatureOutputs(result.values, indices),
    ...(result.errors && { errors: pickFeatureOutputs(result.errors, indices) }),
  };
}

/** Runs the payload's method and assembles the job's result. */
export async function runMethod(run: MethodRun): Promise<ExplanationJobResult> {
  const { payload, record } = run;
  const width = record.featureCount;
  const outputCount = record.outputCount;
  if (width === null || outputCount === null) {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED',
      `model ${record.id} has no fixed input or output size`,
    );
  }
  const expectedRows = estimateRows(payload, width);
  let rowsDone = 0;
  const ctx: EvaluationContext = {
    evaluate:
      run.sliceTargetMs === undefined
        ? run.evaluate
        : slicedEvaluator(run.evaluate, { width, outputCount, targetMs: run.sliceTargetMs }),
    outputCount,
    // Scores and output changes are taken on the model's own outputs.
    link: payload.method === 'permutation_importance' ? 'identity' : payload.params.link,
    batchRows: run.batchRows,
    modelEvaluations: 0,
    rowBuffers: run.rowBuffers,
    onRows: async (rows) => {
      rowsDone += rows;
      await run.onProgress(Math.min(0.99, rowsDone / expectedRows));
      await run.checkCancelled?.();
    },
  };
  const firstInstance = payload.chunk?.firstInstance ?? 0;
  const started = performance.now();
  const fields = await METHOD_RUNNERS[payload.method](ctx, payload, run);
  const computeMs = Math.round(performance.now() - started);
  const outputs = fields.outputs as number[][] | undefined;
  checkFinite(outputs, fields.baseValues as number[] | undefined, firstInstance);

  return {
    method: payload.method,
    featureNames: record.featureNames,
    outputNames: record.outputNames,
    seed: payload.params.seed,
    modelEvaluations: ctx.modelEvaluations,
    computeMs,
    ...fields,
    warnings: outputs
      ? clippingWarnings(ctx.link, outputs, record.outputNames, firstInstance)
      : [],
  };
}

/** NaN or Infinity from the model would turn every value into null: fail the job instead. */
function checkFinite(
  outputs: number[][] | undefined,
  baseValues: number[] | undefined,
  firstInstance: number,
): void {
  const bad = outputs?.findIndex((row) => !row.every(Number.isFinite)) ?? -1;
  if (bad >= 0 || !(baseValues ?? []).every(Number.isFinite)) {
    const where = bad >= 0 ? `instance ${firstInstance + bad}` : 'the background';
    throw new GlassboxError(
      'GBX_ERR_NONFINITE_OUTPUT',
      `the model's output for ${where} is not finite; check the inputs' scale`,
    );
  }
}

/** Rows a job will run, for progress; the exact count depends on coalitions drawn. */
function estimateRows(payload: ExplanationPayload, width: number): number {
  const m = Math.min(width, 40);
  const { nsamples } = payload.params;
  const n = payload.instances.length;
  const summary = payload.params.backgroundSummary;
  const bgRows = Math.min(payload.background.length, summary?.size ?? Infinity);
  const shapRows = (coalitions: number) => bgRows * (1 + coalitions * n) + n;
  const rowsByMethod: Record<ExplanationMethod, () => number> = {
    exact_shap: () => shapRows(2 ** m),
    kernel_shap: () =>
      shapRows(Math.min(nsamples === 'auto' ? 2 * m + 2048 : nsamples, 2 ** m - 2)),
    sampling_shap: () =>
      shapRows((nsamples === 'auto' ? autoPermutationCount(m) : nsamples) * (m - 1)),
    lime: () => n * (payload.params.lime?.numSamples ?? LIME_DEFAULTS.numSamples),
    permutation_importance: () => {
      const options = payload.params.permutation;
      return n * (1 + (options?.groups?.length ?? width) * (options?.nRepeats ?? 5));
    },
  };
  return Math.max(1, rowsByMethod[payload.method]());
}
