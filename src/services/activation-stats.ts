// Activation-statistics requests (checked, then queued) and the BN weights of a stored model.
import { randomUUID } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { GlassboxError, overLimit, validationError, type FieldProblem } from '../errors.js';
import { JOB_NAMES, jobOptions, type ActivationStatsPayload } from '../jobs/queue.js';
import type { ModelRecord } from '../models/store.js';
import { disposeModel, loadModel } from '../models/tf-model.js';
import type { BatchNormParams } from '../stats/batch-norm-drift.js';
import { graphNodes, listGraphBatchNorm } from '../stats/graph-probe.js';
import { basePath, layerPaths } from '../stats/layer-paths.js';
import { listBatchNormLayers } from '../stats/layers-probe.js';
import type { ServiceContext } from './context.js';
import type { SubmittedJob } from './explanations.js';
import { queueUnavailable } from './jobs.js';
import { getModel } from './models.js';

function requestSchema(ctx: ServiceContext) {
  const { MAX_ACTIVATION_SAMPLES, MAX_HISTOGRAM_BINS } = ctx.config;
  return z
    .object({
      modelId: z.string().min(1),
      samples: z
        .array(z.unknown())
        .min(1)
        .max(
          MAX_ACTIVATION_SAMPLES,
          overLimit('MAX_ACTIVATION_SAMPLES', MAX_ACTIVATION_SAMPLES, 'samples'),
        ),
      layers: z.array(z.string().min(1)).min(1).optional(),
      params: z
        .object({
          histogramBins: z
            .number()
            .int()
            .min(0)
            .max(MAX_HISTOGRAM_BINS, overLimit('MAX_HISTOGRAM_BINS', MAX_HISTOGRAM_BINS, 'bins'))
            .default(30),
          driftThreshold: z.number().positive().default(2),
        })
        .strict()
        .default({ histogramBins: 30, driftThreshold: 2 }),
    })
    .strict();
}

/**
 * Validates an activation-statistics request against its model and queues it.
 * @throws GlassboxError 400 naming every bad field, 404 for an unknown model, 503 without Redis.
 */
export async function submitActivationStats(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<SubmittedJob> {
  const parsed = requestSchema(ctx).safeParse(body);
  if (!parsed.success) {
    throw validationError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const request = parsed.data;
  const model = await getModel(ctx, principal, request.modelId);
  const inputDims = checkSingleInput(model);

  const problems: FieldProblem[] = [];
  const samples = request.samples.map((sample, i) =>
    toRow(sample, model, inputDims, `samples.${i}`, problems),
  );
  if (request.layers) {
    await checkLayerNames(ctx, principal, model, request.layers, problems);
  }
  if (problems.length > 0) throw validationError(problems);

  const payload: ActivationStatsPayload = {
    tenant: principal.tenant,
    modelId: model.id,
    samples,
    layers: request.layers ?? null,
    params: request.params,
  };
  const id = randomUUID();
  try {
    await ctx.queue.add(JOB_NAMES.ACTIVATION_STATS, payload, jobOptions(ctx.config, id));
  } catch (err) {
    throw queueUnavailable(err);
  }

  return { id, type: JOB_NAMES.ACTIVATION_STATS, status: 'queued' };
}

/** The per-sample input shape; statistics need one input of fixed shape. */
function checkSingleInput(model: ModelRecord): number[] {
  const dims = model.inputs.length === 1 ? model.inputs[0].shape.slice(1) : null;
  if (!dims || model.featureCount === null || dims.some((d) => d === null)) {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED',
      `model ${model.id} has ${model.inputs.length} input(s); ` +
        'activation statistics need one input of fixed shape',
    );
  }
  return dims as number[];
}

/**
 * One sample as a flat row: a flat array of `featureCount` numbers, nested arrays shaped like
 * the input (`[224][224][3]`), or an object keyed by feature name for models with a flat input.
 */
function toRow(
  sample: unknown,
  model: ModelRecord,
  inputDims: number[],
  path: string,
  problems: FieldProblem[],
): number[] {
  const width = model.featureCount as number;
  if (Array.isArray(sample) && sample.length === width && sample.every(isFiniteNumber))
    return sample;
  if (Array.isArray(sample)) {
    const flat: number[] = [];
    const shapeProblem = flattenShaped(sample, inputDims, flat);
    if (shapeProblem === null) return flat;
    problems.push({
      path,
      message:
        `${shapeProblem}; give ${width} numbers or nested arrays ` +
        `of shape [${inputDims.join(', ')}]`,
    });
    return [];
  }
  if (typeof sample === 'object' && sample !== null && inputDims.length === 1) {
    const row = sample as Record<string, unknown>;
    for (const key of Object.keys(row).filter((k) => !model.featureNames.includes(k))) {
      problems.push({ path: `${path}.${key}`, message: 'unknown feature name' });
    }
    return model.featureNames.map((name) => {
      const value = row[name];
      if (!isFiniteNumber(value))
        problems.push({ path: `${path}.${name}`, message: 'missing or not a number' });
      return isFiniteNumber(value) ? value : 0;
    });
  }
  problems.push({ path, message: `must be an array of ${width} numbers or nested arrays` });
  return [];
}

/** Appends a nested array of shape `dims` to `out`, flat; returns what is wrong, or null. */
function flattenShaped(value: unknown, dims: number[], out: number[]): string | null {
  if (dims.length === 0) {
    if (isFiniteNumber(value)) {
      out.push(value);
      return null;
    }
    return 'holds a value that is not a number';
  }
  if (!Array.isArray(value) || value.length !== dims[0]) {
    const got = Array.isArray(value) ? `${value.length} entries` : 'a single value';
    return `has ${got} where the input has an axis of ${dims[0]}`;
  }
  for (const item of value) {
    const problem = flattenShaped(item, dims.slice(1), out);
    if (problem) return problem;
  }

  return null;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

async function checkLayerNames(
  ctx: ServiceContext,
  principal: Principal,
  model: ModelRecord,
  names: string[],
  problems: FieldProblem[],
): Promise<void> {
  const modelJson = await ctx.models.readModelJson(principal.tenant, model.id);
  const known = new Set(layerPaths(model.format, modelJson.modelTopology));
  names.forEach((name, i) => {
    if (!known.has(basePath(name))) {
      problems.push({
        path: `layers.${i}`,
        message: `the model has no layer or node named ${JSON.stringify(name)}`,
      });
    }
  });
}

/** One BN layer's weights as the API reports them. */
export interface BatchNormLayerView extends BatchNormParams {
  name: string;
  channels: number;
  /** Channels whose moving variance is exactly 0. */
  zeroVarianceChannels: number;
}

export interface BatchNormView {
  modelId: string;
  format: string;
  layers: BatchNormLayerView[];
  notes: string[];
}

/**
 * Every batch-normalization layer of a stored model (nested ones by full path; FusedBatchNorm
 * nodes of a GraphModel) with its weights and epsilon. Loads the model; needs no samples.
 * @throws GlassboxError 404 for an unknown model or another tenant's.
 */
export async function getBatchNorm(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<BatchNormView> {
  const record = await getModel(ctx, principal, id);
  const artifacts = await ctx.models.readArtifacts(principal.tenant, record.id);
  const model = await loadModel(artifacts);
  try {
    const found =
      model instanceof tf.GraphModel
        ? listGraphBatchNorm(model, graphNodes(artifacts.modelJson.modelTopology))
        : { layers: await listBatchNormLayers(model), notes: [] };
    return {
      modelId: record.id,
      format: record.format,
      layers: found.layers.map(({ name, params }) => ({
        name,
        channels: params.movingMean.length,
        zeroVarianceChannels: params.movingVariance.filter((v) => v === 0).length,
        ...params,
      })),
      notes: found.notes,
    };
  } finally {
    disposeModel(model);
  }
}
