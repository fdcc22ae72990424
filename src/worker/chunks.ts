// Joins the results of a split explanation's chunks, in instance order, into one result.
import { chunkJobId } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { ShapleyJobResult } from './explanation.js';

/**
 * Concatenates chunk results given in instance order. Base values, names and parameters are the
 * same in every chunk; model evaluations and compute time add up (each chunk evaluates the
 * background once more); nsamples is the largest over chunks, as over instances.
 */
export function concatChunkResults(parts: ShapleyJobResult[]): ShapleyJobResult {
  const [first] = parts;
  return {
    ...first,
    nsamples: Math.max(...parts.map((p) => p.nsamples)),
    modelEvaluations: parts.reduce((sum, p) => sum + p.modelEvaluations, 0),
    computeMs: parts.reduce((sum, p) => sum + p.computeMs, 0),
    outputs: parts.flatMap((p) => p.outputs),
    values: parts.flatMap((p) => p.values),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

/**
 * Reads the stored results of chunks 0..chunkCount-1 of a split job and joins them.
 * @throws Error (retried) when a chunk's result is missing.
 */
export async function mergeChunkResults(
  results: ResultStore,
  parentId: string,
  chunkCount: number,
): Promise<ShapleyJobResult> {
  const parts: ShapleyJobResult[] = [];
  for (let index = 0; index < chunkCount; index++) {
    const part = await results.read(chunkJobId(parentId, index));
    if (part === null) throw new Error(`chunk ${index} of job ${parentId} has no stored result`);
    parts.push(part as ShapleyJobResult);
  }
  return concatChunkResults(parts);
}
