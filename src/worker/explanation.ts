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
import { slicedEvaluator } from './sliced-evaluator.js';

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
  /** Time one model call may hold the event loop; calls are sliced to about this long. */
  sliceTargetMs: number;
  /** Receives the fraction of model rows done, 0..1. */
  onProgress: (fraction: number) => void | Promise<void>;
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
    evaluate: slicedEvaluator((rows, rowCount) => predictRows(model, inputShape, rows, rowCount), {
      width,
      outputCount: record.outputCount,
      targetMs: run.sliceTargetMs,
    }),
    outputCount: record.outputCount,
    link: payload.params.link,
    batchRows: run.batchRows,
    modelEvaluations: 0,
    onRows: (rows) => {
      rowsDone += rows;
      return run.onProgress(Math.min(0.99, rowsDone / expectedRows));
    },
  };
  const bg = toBackground(payload.background);
  const started = performance.now();
  const result: ShapleyResult =
    payload.method === 'exact_shap'
      ? await exactShap(ctx, payload.instances, bg)
      : await kernelShap(ctx, payload.instances, bg, {
          nsamples: payload.params.nsamples,
          seed: payload.params.seed,
        });

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
    warnings: clippingWarnings(payload.params.link, result.outputs, record.outputNames),
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

/** Names the instances whose probability a logit link had to clip. */
function clippingWarnings(link: string, outputs: number[][], outputNames: string[]): string[] {
  if (link !== 'logit') return [];
  const bound = Math.log((1 - LOGIT_EPSILON) / LOGIT_EPSILON) - 1e-9;
  const warnings: string[] = [];
  outputs.forEach((row, i) =>
    row.forEach((value, k) => {
      if (Math.abs(value) >= bound) {
        warnings.push(
          `instance ${i}, output ${outputNames[k] ?? k}: probability clipped to ` +
            `[${LOGIT_EPSILON}, 1 - ${LOGIT_EPSILON}] before the logit`,
        );
      }
    }),
  );
  return warnings;
}
