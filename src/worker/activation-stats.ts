// Runs one activation-statistics job: a probe over the cached model, samples streamed in batches.
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { GlassboxError, validationError } from '../errors.js';
import type { ActivationStatsPayload } from '../jobs/queue.js';
import { computeActivationStats, type ActivationStatsResult } from '../stats/activation-stats.js';
import { buildGraphProbe, graphNodes } from '../stats/graph-probe.js';
import { basePath, selectLayers } from '../stats/layer-paths.js';
import { buildLayersProbe } from '../stats/layers-probe.js';
import type { ActivationProbe } from '../stats/probe.js';
import type { CachedModel } from './model-cache.js';

/** The stored result of an activation-statistics job. */
export interface ActivationStatsJobResult extends ActivationStatsResult {
  modelId: string;
  format: string;
  computeMs: number;
}

export interface ActivationStatsRun {
  payload: ActivationStatsPayload;
  cached: CachedModel;
  batchValueBudget: number;
  maxBatchRows: number;
  onProgress: (fraction: number) => void | Promise<void>;
}

export async function runActivationStats(
  run: ActivationStatsRun,
): Promise<ActivationStatsJobResult> {
  const { payload, cached } = run;
  const { record } = cached;
  const rowSize = record.featureCount;
  if (rowSize === null || record.inputs.length !== 1) {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED',
      `model ${record.id} has no single input of fixed size`,
    );
  }
  const started = performance.now();
  const probe = await buildProbe(cached, payload.layers);
  checkFound(probe, payload.layers);
  const samples = payload.samples;
  const result = await computeActivationStats(probe, {
    rowSize,
    sampleCount: samples.length,
    readRows: (start, count, into) => {
      for (let r = 0; r < count; r++) into.set(samples[start + r], r * rowSize);
    },
    histogramBins: payload.params.histogramBins,
    driftThreshold: payload.params.driftThreshold,
    batchValueBudget: run.batchValueBudget,
    maxBatchRows: run.maxBatchRows,
    onProgress: (fraction) => run.onProgress(Math.min(0.99, fraction)),
  });

  return {
    modelId: record.id,
    format: record.format,
    ...result,
    computeMs: Math.round(performance.now() - started),
  };
}

async function buildProbe(cached: CachedModel, layers: string[] | null): Promise<ActivationProbe> {
  const { model } = cached;
  if (model instanceof tf.GraphModel) {
    // Limitation: the GraphDef is read from the loaded model's artifacts, a field TensorFlow.js
    // keeps without exporting it, because the model cache holds no copy of model.json.
    const artifacts = (model as unknown as { artifacts?: { modelTopology?: unknown } }).artifacts;
    const wanted = layers === null ? null : new Set(layers);
    return buildGraphProbe(
      model,
      graphNodes(artifacts?.modelTopology),
      (n) => !wanted || wanted.has(n),
    );
  }

  return buildLayersProbe(model, selectLayers(layers));
}

/** Every requested name must have become a target (a shared layer's `:n` call, say, may not). */
function checkFound(probe: ActivationProbe, layers: string[] | null): void {
  if (layers === null) return;
  const names = new Set(probe.targets.map((t) => t.name));
  const bases = new Set(probe.targets.map((t) => basePath(t.name)));
  const missing = layers
    .map((name, i) => ({ name, i }))
    .filter(({ name }) => !names.has(name) && !bases.has(name));
  if (missing.length > 0) {
    throw validationError(
      missing.map(({ name, i }) => ({
        path: `layers.${i}`,
        message: `no reportable layer or node ${name}`,
      })),
    );
  }
}
