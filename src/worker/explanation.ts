// Runs one explanation job: model from the cache, algorithm from explain/, result to the store.
import { performance } from 'node:perf_hooks';
import { GlassboxError } from '../errors.js';
import { toBackground, type EvaluationContext } from '../explain/coalition-values.js';
import { exactShap } from '../explain/exact-shap.js';
import { kernelShap, type ShapleyResult } from '../explain/kernel-shap.js';
import { LOGIT_EPSILON } from '../explain/link.js';
import type { ExplanationPayload } from '../jobs/queue.js';
import { predictRows } from '../models/tf-model.js';
import type { CachedModel } from './model-cache.js';

/** The stored result of a Shapley explanation. */
export interface ShapleyJobResult {
  method: string;
  featureNames: string[];
  outputNames: string[];
  link: string;
  nsamples: number;
  seed: number;
  modelEvaluations: number;
  computeMs: number;
  baseValues: number[];
  outputs: number[][];
  values: number[][][];
  warnings: string[];
}

export interface ExplanationRun {
  payload: ExplanationPayload;
  cached: CachedModel;
  batchRows: number;
  /** Receives the fraction of model rows done, 0..1. */
  onProgress: (fraction: number) => void | Promise<void>;
  /** Throws when the job has been cancelled; called after every batch. */
  checkCancelled?: () => Promise<void>;
}

export async function runExplanation(run: ExplanationRun): Promise<ShapleyJobResult> {
  const { payload, cached } = run;
  const { record, model } = cached;
  const width = record.featureCount;
  if (width === null || record.outputCount === null) {
    throw new GlassboxError('GBX_ERR_UNSUPPORTED', `model ${record.id} has no fixed input or output size`);
  }
  const inputShape = record.inputs[0].shape;
  const expectedRows = estimateRows(payload, width);
  let rowsDone = 0;
  const ctx: EvaluationContext = {
    evaluate: (rows, rowCount) => predictRows(model, inputShape, rows, rowCount),
    outputCount: record.outputCount,
    link: payload.params.link,
    batchRows: run.batchRows,
    modelEvaluations: 0,
    onRows: async (rows) => {
      rowsDone += rows;
      await run.onProgress(Math.min(0.99, rowsDone / expectedRows));
      await run.checkCancelled?.();
    },
  };
  const firstInstance = payload.chunk?.firstInstance ?? 0;
  const bg = toBackground(payload.background);
  const started = performance.now();
  const result: ShapleyResult =
    payload.method === 'exact_shap'
      ? await exactShap(ctx, payload.instances, bg)
      : await kernelShap(ctx, payload.instances, bg, {
          nsamples: payload.params.nsamples,
          seed: payload.params.seed,
          firstInstance,
        });

  checkFinite(result, firstInstance);

  return {
    method: payload.method,
    featureNames: record.featureNames,
    outputNames: record.outputNames,
    link: payload.params.link,
    nsamples: result.nsamples,
    seed: payload.params.seed,
    modelEvaluations: ctx.modelEvaluations,
    computeMs: Math.round(performance.now() - started),
    baseValues: result.baseValues,
    outputs: result.outputs,
    values: result.values,
    warnings: clippingWarnings(
      payload.params.link,
      result.outputs,
      record.outputNames,
      firstInstance,
    ),
  };
}

/** Rows a job will run, for progress; the exact count depends on coalitions drawn. */
function estimateRows(payload: ExplanationPayload, width: number): number {
  const m = Math.min(width, 40);
  const coalitions =
    payload.method === 'exact_shap'
      ? 2 ** m
      : Math.min(payload.params.nsamples === 'auto' ? 2 * m + 2048 : payload.params.nsamples, 2 ** m - 2);
  return payload.background.length * (1 + coalitions * payload.instances.length) + payload.instances.length;
}

/** NaN or Infinity from the model would turn every value into null: fail the job instead. */
function checkFinite(result: ShapleyResult, firstInstance: number): void {
  const bad = result.outputs.findIndex((row) => !row.every(Number.isFinite));
  if (bad >= 0 || !result.baseValues.every(Number.isFinite)) {
    const where = bad >= 0 ? `instance ${firstInstance + bad}` : 'the background';
    throw new GlassboxError(
      'GBX_ERR_NONFINITE_OUTPUT',
      `the model's output for ${where} is not finite; check the inputs' scale`,
    );
  }
}

/** Names the instances (by their index in the request) whose probability a logit link clipped. */
function clippingWarnings(
  link: string,
  outputs: number[][],
  outputNames: string[],
  firstInstance: number,
): string[] {
  if (link !== 'logit') return [];
  const bound = Math.log((1 - LOGIT_EPSILON) / LOGIT_EPSILON) - 1e-9;
  const warnings: string[] = [];
  outputs.forEach((row, i) =>
    row.forEach((value, k) => {
      if (Math.abs(value) >= bound) {
        warnings.push(
          `instance ${firstInstance + i}, output ${outputNames[k] ?? k}: probability clipped to ` +
            `[${LOGIT_EPSILON}, 1 - ${LOGIT_EPSILON}] before the logit`,
        );
      }
    }),
  );
  return warnings;
}
