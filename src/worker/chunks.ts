// Joins the results of a split explanation's chunks, in instance order, into one result.
import { chunkJobId } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { ExplanationJobResult } from './explanation.js';

/**
 * Concatenates chunk results given in instance order. Base values, names, parameters and LIME's
 * kernel width are the same in every chunk; model evaluations and compute time add up (each
 * Shapley chunk evaluates the background once more); a Shapley result's nsamples is the largest
 * over chunks, as over instances.
 */
export function concatChunkResults(parts: ExplanationJobResult[]): ExplanationJobResult {
  const [first] = parts;
  const merged: ExplanationJobResult = {
    ...first,
    ...('nsamples' in first && {
      nsamples: Math.max(...parts.map((p) => p.nsamples as number)),
    }),
    modelEvaluations: parts.reduce((sum, p) => sum + p.modelEvaluations, 0),
    computeMs: parts.reduce((sum, p) => sum + p.computeMs, 0),
    warnings: parts.flatMap((p) => p.warnings),
  };
  for (const field of PER_INSTANCE_FIELDS) {
    if (field in first) merged[field] = parts.flatMap((p) => p[field] as unknown[]);
  }
  return merged;
}

/** Result arrays whose first axis is the instance. */
const PER_INSTANCE_FIELDS = [
  'outputs',
  'outputIndices',
  'values',
  'errors',
  'intercepts',
  'weights',
  'scores',
  'localPredictions',
];

/**
 * Reads the stored results of chunks 0..chunkCount-1 of a split job and joins them.
 * @throws Error (retried) when a chunk's result is missing.
 */
export async function mergeChunkResults(
  results: ResultStore,
  parentId: string,
  chunkCount: number,
): Promise<ExplanationJobResult> {
  const parts: ExplanationJobResult[] = [];
  for (let index = 0; index < chunkCount; index++) {
    const part = await results.read(chunkJobId(parentId, index));
    if (part === null) throw new Error(`chunk ${index} of job ${parentId} has no stored result`);
    parts.push(part as ExplanationJobResult);
  }
  return concatChunkResults(parts);
}
