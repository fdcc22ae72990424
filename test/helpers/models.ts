// Small models in plain JavaScript whose Shapley values can be worked out by hand.
import type { EvaluationContext, ModelEvaluator } from '../../src/explain/coalition-values.js';
import type { LinkName } from '../../src/explain/link.js';

/** Wraps a per-row function as a batched evaluator. */
export function rowModel(width: number, fn: (x: Float32Array) => number[]): ModelEvaluator {
  return async (rows, rowCount) => {
    const out: number[] = [];
    for (let r = 0; r < rowCount; r++) out.push(...fn(rows.subarray(r * width, (r + 1) * width)));
    return out;
  };
}

export function context(
  evaluate: ModelEvaluator,
  outputCount: number,
  link: LinkName = 'identity',
  batchRows = 4096,
): EvaluationContext {
  return { evaluate, outputCount, link, batchRows, modelEvaluations: 0 };
}

/** Deterministic pseudo-random rows in [-2, 2). */
export function randomRows(count: number, width: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: count }, () => Array.from({ length: width }, () => 4 * next() - 2));
}
