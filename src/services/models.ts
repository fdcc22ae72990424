// Model upload, listing and removal, shared by every front door.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { GlassboxError, validationError, type FieldProblem } from '../errors.js';
import { checkArtifacts } from '../models/artifacts.js';
import type { ModelRecord } from '../models/store.js';
import { checkModelIsolated } from '../models/isolated-load.js';
import type { ServiceContext } from './context.js';
import { featureRefSchema, resolveFeature } from './features.js';

const metadataSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    featureNames: z.array(z.string().min(1).max(200)).optional(),
    outputNames: z.array(z.string().min(1).max(200)).optional(),
    task: z.enum(['classification', 'regression']).optional(),
    categoricalFeatures: z.array(featureRefSchema).optional(),
  })
  .strict();

type ModelMetadata = z.infer<typeof metadataSchema>;

/** The parts of a model upload, as received. */
export interface ModelUpload {
  modelJsonText: string;
  modelFileName?: string;
  files: Map<string, Buffer>;
  metadataText?: string;
}

/**
 * Checks an upload (JSON, topology, manifest, byte lengths, metadata, a load and first run in
 * TensorFlow.js on a worker thread under a time limit) and stores it. Nothing is stored when any
 * check fails.
 */
export async function createModel(
  ctx: ServiceContext,
  principal: Principal,
  upload: ModelUpload,
): Promise<ModelRecord> {
  const metadata = parseMetadata(upload.metadataText);
  const artifacts = checkArtifacts(upload.modelJsonText, upload.files);
  const structure = await checkModelIsolated(artifacts, {
    backend: ctx.config.TFJS_BACKEND,
    timeoutMs: ctx.config.MODEL_LOAD_TIMEOUT_MS,
  });

  const featureNames = namesFor(
    'metadata.featureNames',
    metadata.featureNames,
    structure.featureCount,
    'feature',
  );
  const outputNames = namesFor(
    'metadata.outputNames',
    metadata.outputNames,
    structure.outputCount,
    'output',
  );
  const categoricalFeatures = categoricalIndices(
    metadata.categoricalFeatures ?? [],
    featureNames,
    structure.featureCount,
  );
  const record: ModelRecord = {
    id: randomUUID(),
    name: metadata.name ?? upload.modelFileName?.replace(/\.json$/i, '') ?? 'model',
    format: artifacts.format,
    task: metadata.task ?? null,
    ...structure,
    featureNames,
    outputNames,
    categoricalFeatures,
    createdAt: new Date().toISOString(),
  };
  await ctx.models.save(principal.tenant, record, upload.modelJsonText, upload.files);
  return record;
}

function parseMetadata(text: string | undefined): ModelMetadata {
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw validationError([
      { path: 'metadata', message: `not valid JSON: ${(err as Error).message}` },
    ]);
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    throw validationError(
      parsed.error.issues.map((i) => ({
        path: ['metadata', ...i.path].join('.'),
        message: i.message,
      })),
    );
  }
  return parsed.data;
}

/** Given names must match the model's size and be distinct; absent ones are generated. */
function namesFor(
  field: string,
  given: string[] | undefined,
  count: number | null,
  prefix: string,
): string[] {
  if (!given) {
    return count === null ? [] : Array.from({ length: count }, (_, i) => `${prefix}_${i}`);
  }
  const problems: FieldProblem[] = [];
  if (count !== null && given.length !== count) {
    problems.push({
      path: field,
      message: `has ${given.length} names but the model has ${count} ${prefix}s`,
    });
  }
  const duplicates = given.filter((name, i) => given.indexOf(name) !== i);
  if (duplicates.length > 0) {
    problems.push({
      path: field,
      message: `names must be distinct; repeated: ${[...new Set(duplicates)].join(', ')}`,
    });
  }
  if (problems.length > 0) throw validationError(problems);
  return given;
}

/**
 * Categorical features named in the metadata (feature names or 0-based indices) as ascending
 * indices. Each unknown name, index past the last feature or second mention of a feature is
 * named by its place in the list.
 */
function categoricalIndices(
  refs: (number | string)[],
  featureNames: string[],
  featureCount: number | null,
): number[] {
  const field = 'metadata.categoricalFeatures';
  if (refs.length > 0 && featureCount === null) {
    throw validationError([
      { path: field, message: 'needs a model whose input has a fixed number of features' },
    ]);
  }
  const problems: FieldProblem[] = [];
  const firstMention = new Map<number, number>();
  refs.forEach((ref, i) => {
    const resolved = resolveFeature(ref, featureNames, featureCount as number);
    if ('problem' in resolved) {
      problems.push({ path: `${field}.${i}`, message: resolved.problem });
      return;
    }
    const first = firstMention.get(resolved.index);
    if (first === undefined) {
      firstMention.set(resolved.index, i);
      return;
    }
    const feature = `feature ${resolved.index} (${featureNames[resolved.index]})`;
    problems.push({
      path: `${field}.${i}`,
      message: `${feature} is already listed at ${field}.${first}`,
    });
  });
  if (problems.length > 0) throw validationError(problems);
  return [...firstMention.keys()].sort((a, b) => a - b);
}

/** A model of the principal's tenant; any other tenant's model is reported as not found. */
export async function getModel(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<ModelRecord> {
  const record = await ctx.models.get(principal.tenant, id);
  if (!record) throw new GlassboxError('GBX_ERR_MODEL_NOT_FOUND', `no model with id ${id}`);
  return record;
}

export async function listModels(
  ctx: ServiceContext,
  principal: Principal,
): Promise<ModelRecord[]> {
  return ctx.models.list(principal.tenant);
}

export async function deleteModel(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<void> {
  if (!(await ctx.models.delete(principal.tenant, id))) {
    throw new GlassboxError('GBX_ERR_MODEL_NOT_FOUND', `no model with id ${id}`);
  }
}
