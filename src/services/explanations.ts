// Explanation requests: checked against the model, then queued as jobs.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { GlassboxError, validationError, type FieldProblem } from '../errors.js';
import { EXACT_SHAP_MAX_FEATURES } from '../explain/exact-shap.js';
import { drawSeed } from '../explain/random.js';
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

const rowSchema = z.union([z.array(z.number()), z.record(z.string(), z.number())]);

function requestSchema(ctx: ServiceContext) {
  const { MAX_INSTANCES, MAX_BACKGROUND_ROWS, MAX_NSAMPLES } = ctx.config;
  return z
    .object({
      modelId: z.string().min(1),
      method: z.enum(EXPLANATION_METHODS),
      instances: z
        .array(rowSchema)
        .min(1)
        .max(MAX_INSTANCES, overLimit('MAX_INSTANCES', MAX_INSTANCES, 'rows')),
      background: z
        .array(rowSchema)
        .min(1)
        .max(MAX_BACKGROUND_ROWS, overLimit('MAX_BACKGROUND_ROWS', MAX_BACKGROUND_ROWS, 'rows')),
      params: z
        .object({
          nsamples: z
            .union([
              z.literal('auto'),
              z
                .number()
                .int()
                .min(2)
                .max(MAX_NSAMPLES, overLimit('MAX_NSAMPLES', MAX_NSAMPLES, '')),
            ])
            .default('auto'),
          link: z.enum(['identity', 'logit']).default('identity'),
          seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
        })
        .strict()
        .default({ nsamples: 'auto', link: 'identity' }),
    })
    .strict();
}

/** The message of a request cap: names the setting, so that an operator knows what to raise. */
export function overLimit(setting: string, limit: number, unit: string): { message: string } {
  return { message: `over the limit ${setting} (${limit}${unit ? ` ${unit}` : ''})` };
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
export async function submitExplanation(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<SubmittedJob> {
  const parsed = requestSchema(ctx).safeParse(body);
  if (!parsed.success) {
    throw validationError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  const request = parsed.data;
  const model = await getModel(ctx, principal, request.modelId);
  checkExplainable(model, request.method);
  if ((model.featureCount as number) > ctx.config.MAX_FEATURES) {
    const limit = overLimit('MAX_FEATURES', ctx.config.MAX_FEATURES, 'features');
    throw validationError([
      {
        path: 'modelId',
        message: `the model has ${model.featureCount} features, ${limit.message}`,
      },
    ]);
  }

  const problems: FieldProblem[] = [];
  const instances = toMatrix(request.instances, model, 'instances', problems);
  const background = toMatrix(request.background, model, 'background', problems);
  if (problems.length > 0) throw validationError(problems);

  const payload: ExplanationPayload = {
    tenant: principal.tenant,
    modelId: model.id,
    method: request.method,
    instances,
    background,
    params: { ...request.params, seed: request.params.seed ?? drawSeed() },
  };
  const id = randomUUID();
  try {
    await ctx.queue.add(JOB_NAMES.EXPLANATION, payload, jobOptions(ctx.config, id));
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
  rows: (number[] | Record<string, number>)[],
  model: ModelRecord,
  field: string,
  problems: FieldProblem[],
): number[][] {
  const width = model.featureCount as number;
  const names = model.featureNames;
  return rows.map((row, r) => {
    if (Array.isArray(row)) {
      if (row.length !== width) {
        problems.push({ path: `${field}.${r}`, message: `has ${row.length} values; the model takes ${width}` });
      }
      return row;
    }
    const unknown = Object.keys(row).filter((key) => !names.includes(key));
    for (const key of unknown) problems.push({ path: `${field}.${r}.${key}`, message: 'unknown feature name' });
    const missing = names.filter((name) => !(name in row));
    for (const name of missing) problems.push({ path: `${field}.${r}.${name}`, message: 'missing' });
    return names.map((name) => row[name] ?? 0);
  });
}
