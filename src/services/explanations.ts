// Explanation requests: checked against the model, then queued as jobs.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { GlassboxError, overLimit, validationError, type FieldProblem } from '../errors.js';
import { drawSeed } from '../explain/random.js';
import { explanationFlow, flowProducerFor, needsSplit } from '../jobs/flows.js';
import {
  EXPLANATION_METHODS,
  JOB_NAMES,
  jobOptions,
  type ExplanationPayload,
} from '../jobs/queue.js';
import { FEATURE_SELECTIONS } from '../explain/lime.js';
import { METRICS } from '../explain/permutation-importance.js';
import { autoPermutationCount } from '../explain/sampling-shap.js';
import type { ModelRecord } from '../models/store.js';
import type { ServiceContext } from './context.js';
import { featureRefSchema, resolveFeature } from './features.js';
import { getDataset } from './datasets.js';
import { getModel } from './models.js';
import { queueUnavailable } from './jobs.js';

const rowSchema = z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())], {
  error: 'must be an array of numbers in feature order or an object keyed by feature name',
});

/** Values a float32 model input can hold; larger ones become Infinity inside the model. */
const FLOAT32_MAX = 3.4028234663852886e38;

const SHAPLEY_METHODS: string[] = ['exact_shap', 'kernel_shap', 'sampling_shap'];

const L1_NUM_FEATURES = /^num_features\(([1-9][0-9]*)\)$/;

function requestSchema(ctx: ServiceContext) {
  const { MAX_INSTANCES, MAX_BACKGROUND_ROWS, MAX_NSAMPLES } = ctx.config;
  const nsamplesMessage =
    `must be "auto" or an integer from 2 up to the limit MAX_NSAMPLES (${MAX_NSAMPLES})`;
  return z
    .object({
      modelId: z.string().min(1),
      method: z.enum(EXPLANATION_METHODS),
      instances: z
        .array(rowSchema)
        .min(1)
        .max(MAX_INSTANCES, overLimit('MAX_INSTANCES', MAX_INSTANCES, 'rows')),
      background: z
        .union([
          z
            .array(rowSchema)
            .min(1)
            .max(
              MAX_BACKGROUND_ROWS,
              overLimit('MAX_BACKGROUND_ROWS', MAX_BACKGROUND_ROWS, 'rows'),
            ),
          z.object({ datasetId: z.string().min(1) }).strict(),
        ])
        .optional(),
      params: z
        .object({
          nsamples: z
            .union(
              [
                z.literal('auto', { error: nsamplesMessage }),
                z
                  .number()
                  .int({ error: nsamplesMessage })
                  .min(2)
                  .max(MAX_NSAMPLES, overLimit('MAX_NSAMPLES', MAX_NSAMPLES, '')),
              ],
              { error: nsamplesMessage },
            )
            .default('auto'),
          link: z.enum(['identity', 'logit']).default('identity'),
          seed: z
            .number()
            .int()
            .min(0)
            .max(2 ** 31 - 1)
            .optional(),
          outputs: z
            .union([z.enum(['all', 'top']), z.array(z.number().int().min(0)).min(1)])
            .default('all'),
          l1Reg: z
            .union([
              z.literal('off'),
              z.string().regex(L1_NUM_FEATURES, 'must be "off" or "num_features(k)" with k >= 1'),
            ])
            .default('off'),
          background: z
            .object({
              summarize: z.enum(['kmeans', 'sample']),
              size: z
                .number()
                .int()
                .min(1)
                .max(
                  MAX_BACKGROUND_ROWS,
                  overLimit('MAX_BACKGROUND_ROWS', MAX_BACKGROUND_ROWS, 'rows'),
                ),
            })
            .strict()
            .optional(),
          numSamples: z
            .number()
            .int()
            .min(10)
            .max(MAX_NSAMPLES, overLimit('MAX_NSAMPLES', MAX_NSAMPLES, ''))
            .default(5000),
          numFeatures: z.number().int().min(1).optional(),
          featureSelection: z.enum(FEATURE_SELECTIONS).default('auto'),
          discretizer: z.enum(['none', 'quartile', 'decile']).default('none'),
          categorical: z.array(featureRefSchema).optional(),
          kernelWidth: z.number().positive().optional(),
          labels: z.array(z.number()).optional(),
          metric: z.enum(METRICS).optional(),
          nRepeats: z.number().int().min(1).max(1000).default(5),
          groups: z.array(z.array(featureRefSchema).min(1)).min(1).optional(),
        })
        .strict()
        .prefault({}),
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
 * The problems behind one issue. A union whose input has the type of exactly one option (rows,
 * not a dataset reference) reports that option's problems, such as a cap naming its setting.
 */
function issueProblems(issue: z.core.$ZodIssue, prefix: PropertyKey[]): FieldProblem[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const typed = issue.errors.filter(
      (option) =>
        !(option.length === 1 && option[0].code === 'invalid_type' && option[0].path.length === 0),
    );
    if (typed.length === 1) return typed[0].flatMap((inner) => issueProblems(inner, path));
  }
  return [{ path: path.map(String).join('.'), message: issue.message }];
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
    throw validationError(
      parsed.error.issues.flatMap((issue) => issueProblems(issue, [])),
    );
  }
  const request = parsed.data;
  const model = await getModel(ctx, principal, request.modelId);
  checkExplainable(model, request.method, ctx.config.EXACT_SHAP_MAX_FEATURES);
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
  const backgroundRows = await resolveBackground(ctx, principal, request.background);
  const background = toMatrix(backgroundRows, model, 'background', problems);
  if (request.method !== 'permutation_importance' && background.length === 0) {
    problems.push({ path: 'background', message: `required by ${request.method}` });
  }
  checkOutputIndices(request.params.outputs, model.outputCount as number, problems);
  const featureCount = model.featureCount as number;
  const l1Features = parseL1Reg(request.params.l1Reg, request.method, featureCount, problems);
  checkNumFeatures(request.params.numFeatures, request.method, featureCount, problems);

  const params = request.params;
  const lime = {
    numSamples: params.numSamples,
    numFeatures: params.numFeatures,
    featureSelection: params.featureSelection,
    discretizer: params.discretizer,
    categorical: limeCategorical(params.categorical, model, problems),
    kernelWidth: params.kernelWidth,
  };
  const permutation = {
    labels: params.labels,
    metric: params.metric,
    nRepeats: params.nRepeats,
    groups: params.groups?.map((g, i) => featureIndices(g, model, `params.groups.${i}`, problems)),
  };
  if (request.method === 'permutation_importance')
    checkLabels(permutation, instances, model, problems);
  if (params.background && !SHAPLEY_METHODS.includes(request.method)) {
    problems.push({
      path: 'params.background',
      message: `applies to Shapley methods, not ${request.method}`,
    });
  }
  if (problems.length > 0) throw validationError(problems);
  checkCost(ctx, model, request.method, params, instances.length, background.length);

  const payload: ExplanationPayload = {
    tenant: principal.tenant,
    modelId: model.id,
    method: request.method,
    instances,
    background,
    params: {
      nsamples: params.nsamples,
      link: params.link,
      outputs: params.outputs,
      seed: params.seed ?? drawSeed(),
      l1Features,
      ...(params.background && { backgroundSummary: params.background }),
      ...(request.method === 'lime' && { lime }),
      ...(request.method === 'permutation_importance' && { permutation }),
    },
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

function checkExplainable(model: ModelRecord, method: string, exactMaxFeatures: number): void {
  if (model.featureCount === null || model.outputCount === null) {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED',
      `model ${model.id} has ${model.inputs.length} input(s) ` +
        `and ${model.outputs.length} output(s) ` +
        'of shapes without a fixed size; explanations need one input and one output of fixed shape',
    );
  }
  if (method === 'exact_shap' && model.featureCount > exactMaxFeatures) {
    throw validationError([
      {
        path: 'method',
        message:
          `exact_shap enumerates 2^M coalitions and is allowed up to ${exactMaxFeatures} ` +
          `features (EXACT_SHAP_MAX_FEATURES); this model has ${model.featureCount}: ` +
          'use kernel_shap or sampling_shap instead',
      },
    ]);
  }
}

/** Inline rows as they are; a stored dataset's rows keyed by its column names when it has them. */
async function resolveBackground(
  ctx: ServiceContext,
  principal: Principal,
  background: (unknown[] | Record<string, unknown>)[] | { datasetId: string } | undefined,
): Promise<(unknown[] | Record<string, unknown>)[]> {
  if (background === undefined) return [];
  if (Array.isArray(background)) return background;
  const dataset = await getDataset(ctx, principal, background.datasetId);
  if (dataset.featureNames.length === 0) return dataset.rows;
  return dataset.rows.map((row) =>
    Object.fromEntries(dataset.featureNames.map((n, c) => [n, row[c]])),
  );
}

/** Feature references (indices or names) as indices, each bad one named. */
function featureIndices(
  refs: (number | string)[],
  model: ModelRecord,
  path: string,
  problems: FieldProblem[],
): number[] {
  return refs.map((ref, j) => {
    const resolved = resolveFeature(ref, model.featureNames, model.featureCount as number);
    if ('index' in resolved) return resolved.index;
    problems.push({ path: `${path}.${j}`, message: resolved.problem });
    return -1;
  });
}

/**
 * The features LIME treats as categorical: those the request names, which replace the model's
 * own list, or else the model's categorical features from its metadata.
 */
function limeCategorical(
  requested: (number | string)[] | undefined,
  model: ModelRecord,
  problems: FieldProblem[],
): number[] {
  if (requested === undefined) return model.categoricalFeatures;
  return featureIndices(requested, model, 'params.categorical', problems);
}

/** Labels must match the rows and the metric: class indices or single-output targets. */
function checkLabels(
  options: { labels?: number[]; metric?: string },
  rows: number[][],
  model: ModelRecord,
  problems: FieldProblem[],
): void {
  const { labels, metric } = options;
  if (!labels) {
    if (metric) problems.push({ path: 'params.labels', message: `required by metric ${metric}` });
    return;
  }
  if (labels.length !== rows.length) {
    problems.push({
      path: 'params.labels',
      message: `has ${labels.length} labels for ${rows.length} instances`,
    });
  }
  const outputs = model.outputCount as number;
  const classes = Math.max(outputs, 2);
  if (metric === undefined || metric === 'accuracy' || metric === 'log_loss') {
    labels.forEach((label, i) => {
      if (!Number.isInteger(label) || label < 0 || label >= classes) {
        problems.push({
          path: `params.labels.${i}`,
          message: `must be a class index below ${classes}`,
        });
      }
    });
  } else if (outputs !== 1) {
    problems.push({ path: 'params.metric', message: `${metric} needs a model with one output` });
  }
}

/** `num_features(k)` as k; `off` as null. Only KernelSHAP selects features. */
function parseL1Reg(
  l1Reg: string,
  method: string,
  featureCount: number,
  problems: FieldProblem[],
): number | null {
  const match = L1_NUM_FEATURES.exec(l1Reg);
  if (!match) return null;
  if (method !== 'kernel_shap') {
    problems.push({ path: 'params.l1Reg', message: `applies to kernel_shap only, not ${method}` });
  }
  const k = Number(match[1]);
  if (k > featureCount) {
    problems.push({
      path: 'params.l1Reg',
      message: `asks for ${k} features; the model has ${featureCount}`,
    });
  }
  return k;
}

/** LIME's surrogate cannot use more features than the model has. */
function checkNumFeatures(
  numFeatures: number | undefined,
  method: string,
  featureCount: number,
  problems: FieldProblem[],
): void {
  if (numFeatures === undefined || method !== 'lime' || numFeatures <= featureCount) return;
  problems.push({
    path: 'params.numFeatures',
    message: `is ${numFeatures}; the model has ${featureCount} features`,
  });
}

function checkOutputIndices(
  outputs: 'all' | 'top' | number[],
  outputCount: number,
  problems: FieldProblem[],
): void {
  if (!Array.isArray(outputs)) return;
  outputs.forEach((o, j) => {
    if (o >= outputCount) {
      problems.push({
        path: `params.outputs.${j}`,
        message: `the model has ${outputCount} output(s)`,
      });
    }
  });
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
    problems.push({
      path,
      message: `must be a finite number (got ${JSON.stringify(cell) ?? cell})`,
    });
    return 0;
  }
  if (Math.abs(cell) > FLOAT32_MAX) {
    problems.push({ path, message: `${cell} is beyond the float32 range of model inputs` });
    return 0;
  }
  return cell;
}

/** The request field that sets a method's cost, named when a request costs too much. */
const COST_FIELD: Record<string, string> = {
  lime: 'params.numSamples',
  permutation_importance: 'params.nRepeats',
};

/** Refuses requests whose model evaluations would exceed MAX_JOB_ROWS. */
function checkCost(
  ctx: ServiceContext,
  model: ModelRecord,
  method: string,
  params: {
    nsamples: number | 'auto';
    numSamples: number;
    nRepeats: number;
    groups?: unknown[];
    background?: { size: number };
  },
  instanceCount: number,
  backgroundRows: number,
): void {
  const m = model.featureCount as number;
  const { nsamples } = params;
  const everyCoalition = 2 ** Math.min(m, 60);
  const backgroundCount = Math.min(backgroundRows, params.background?.size ?? Infinity);
  const shapRows = (coalitions: number) =>
    backgroundCount * (instanceCount * coalitions + 1) + instanceCount;
  const rowsByMethod: Record<string, () => number> = {
    exact_shap: () => shapRows(everyCoalition),
    kernel_shap: () =>
      shapRows(Math.min(nsamples === 'auto' ? 2 * m + 2048 : nsamples, everyCoalition - 2)),
    sampling_shap: () =>
      shapRows((nsamples === 'auto' ? autoPermutationCount(m) : nsamples + 1) * (m - 1)),
    lime: () => instanceCount * params.numSamples,
    permutation_importance: () =>
      instanceCount * (1 + (params.groups?.length ?? m) * params.nRepeats),
  };
  const rows = rowsByMethod[method]();
  if (rows > ctx.config.MAX_JOB_ROWS) {
    throw validationError([
      {
        path: COST_FIELD[method] ?? 'params.nsamples',
        message:
          `this request needs about ${rows.toExponential(2)} model evaluations, over the ` +
          `limit of ${ctx.config.MAX_JOB_ROWS} (MAX_JOB_ROWS): send fewer instances, ` +
          'background rows or nsamples',
      },
    ]);
  }
}
