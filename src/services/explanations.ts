// Explanation requests: checked against the model, then queued as jobs.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GlassboxError, validationError, type FieldProblem } from '../errors.js';
import { EXACT_SHAP_MAX_FEATURES } from '../explain/exact-shap.js';
import { drawSeed } from '../explain/random.js';
import { explanationFlow, flowProducerFor, needsSplit } from '../jobs/flows.js';
import {
  EXPLANATION_METHODS,
  JOB_NAMES,
  jobOptions,
  type ExplanationPayload,
} from '../jobs/queue.js';
import type { ModelRecord } from '../models/store.js';
import type { ServiceContext } from './context.js';
import { getModel } from './models.js';
import { queueUnavailable } from './jobs.js';

const rowSchema = z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())], {
  error: 'must be an array of numbers in feature order or an object keyed by feature name',
});

/** Values a float32 model input can hold; larger ones become Infinity inside the model. */
const FLOAT32_MAX = 3.4028234663852886e38;

function requestSchema(ctx: ServiceContext) {
  const { MAX_INSTANCES, MAX_BACKGROUND_ROWS, MAX_NSAMPLES } = ctx.config;
  return z
    .object({
      modelId: z.string().min(1),
      method: z.enum(EXPLANATION_METHODS),
      instances: z.array(rowSchema).min(1).max(MAX_INSTANCES),
      background: z.array(rowSchema).min(1).max(MAX_BACKGROUND_ROWS),
      params: z
        .object({
          nsamples: z
            .union([z.literal('auto'), z.number().int().min(2).max(MAX_NSAMPLES)], {
              error: `must be "auto" or an integer from 2 to ${MAX_NSAMPLES}`,
            })
            .default('auto'),
          link: z.enum(['identity', 'logit']).default('identity'),
          seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
        })
        .strict()
        .default({ nsamples: 'auto', link: 'identity' }),
    })
    .strict();
}

/** A queued job as the submitter first sees it. */
export interface SubmittedJob {
  id: string;
  type: string;
  status: 'queued';
}

/**
 * Validates an explanation request against its model and queues it.
 * @throws GlassboxError 400 naming every bad field, 404 for an unknown model, 503 without Redis.
 */
export async function submitExplanation(ctx: ServiceContext, body: unknown): Promise<SubmittedJob> {
  const parsed = requestSchema(ctx).safeParse(body);
  if (!parsed.success) {
    throw validationError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const request = parsed.data;
  const model = await getModel(ctx, request.modelId);
  checkExplainable(model, request.method);

  const problems: FieldProblem[] = [];
  const instances = toMatrix(request.instances, model, 'instances', problems);
  const background = toMatrix(request.background, model, 'background', problems);
  if (problems.length > 0) throw validationError(problems);
  checkCost(ctx, model, request.method, request.params.nsamples, instances.length, background.length);

  const payload: ExplanationPayload = {
    modelId: model.id,
    method: request.method,
    instances,
    background,
    params: { ...request.params, seed: request.params.seed ?? drawSeed() },
  };
  const id = randomUUID();
  try {
    if (needsSplit(ctx.config, payload)) {
      await flowProducerFor(ctx.queue).add(explanationFlow(ctx.config, id, payload));
    } else {
      await ctx.queue.add(JOB_NAMES.EXPLANATION, payload, jobOptions(ctx.config, id));
    }
  } catch (err) {
    throw queueUnavailable(err);
  }
  return { id, type: JOB_NAMES.EXPLANATION, status: 'queued' };
}

function checkExplainable(model: ModelRecord, method: string): void {
  if (model.featureCount === null || model.outputCount === null) {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED',
      `model ${model.id} has ${model.inputs.length} input(s) and ${model.outputs.length} output(s) ` +
        'of shapes without a fixed size; explanations need one input and one output of fixed shape',
    );
  }
  if (method === 'exact_shap' && model.featureCount > EXACT_SHAP_MAX_FEATURES) {
    throw validationError([
      {
        path: 'method',
        message:
          `exact_shap enumerates 2^M coalitions and is allowed up to ${EXACT_SHAP_MAX_FEATURES} ` +
          `features; this model has ${model.featureCount}: use kernel_shap instead`,
      },
    ]);
  }
}

/** Turns rows (arrays in feature order, or objects keyed by feature name) into arrays. */
function toMatrix(
  rows: (unknown[] | Record<string, unknown>)[],
  model: ModelRecord,
  field: string,
  problems: FieldProblem[],
): number[][] {
  const width = model.featureCount as number;
  const names = model.featureNames;
  return rows.map((row, r) => {
    if (Array.isArray(row)) {
      if (row.length !== width) {
        problems.push({
          path: `${field}.${r}`,
          message: `has ${row.length} values; the model takes ${width}`,
        });
      }
      return row.map((cell, c) => checkCell(cell, `${field}.${r}.${c}`, problems));
    }
    for (const key of Object.keys(row).filter((k) => !names.includes(k))) {
      problems.push({ path: `${field}.${r}.${key}`, message: 'unknown feature name' });
    }
    return names.map((name) => {
      if (!(name in row)) {
        problems.push({ path: `${field}.${r}.${name}`, message: 'missing' });
        return 0;
      }
      return checkCell(row[name], `${field}.${r}.${name}`, problems);
    });
  });
}

/** A cell must be a number a float32 input can hold. */
function checkCell(cell: unknown, path: string, problems: FieldProblem[]): number {
  if (typeof cell !== 'number' || !Number.isFinite(cell)) {
    problems.push({ path, message: `must be a finite number (got ${JSON.stringify(cell) ?? cell})` });
    return 0;
  }
  if (Math.abs(cell) > FLOAT32_MAX) {
    problems.push({ path, message: `${cell} is beyond the float32 range of model inputs` });
    return 0;
  }
  return cell;
}

/** Refuses requests whose model evaluations would exceed MAX_JOB_ROWS. */
function checkCost(
  ctx: ServiceContext,
  model: ModelRecord,
  method: string,
  nsamples: number | 'auto',
  instanceCount: number,
  backgroundCount: number,
): void {
  const m = model.featureCount as number;
  const everyCoalition = 2 ** Math.min(m, 60);
  const coalitions =
    method === 'exact_shap'
      ? everyCoalition
      : Math.min(nsamples === 'auto' ? 2 * m + 2048 : nsamples, everyCoalition - 2);
  const rows = backgroundCount * (instanceCount * coalitions + 1) + instanceCount;
  if (rows > ctx.config.MAX_JOB_ROWS) {
    throw validationError([
      {
        path: 'params.nsamples',
        message:
          `this request needs about ${rows.toExponential(2)} model evaluations, over the ` +
          `limit of ${ctx.config.MAX_JOB_ROWS} (MAX_JOB_ROWS): send fewer instances, ` +
          'background rows or nsamples',
      },
    ]);
  }
}
