// Expected model output over a background for coalitions of features: the value function that
// Shapley methods share. Masked rows are built in large typed arrays and evaluated in batches.
import { applyLink, type LinkName } from './link.js';

/**
 * Runs the model on `rowCount` rows laid out row-major in `rows` and resolves to
 * `rowCount * outputCount` outputs, row-major.
 */
export type ModelEvaluator = (rows: Float32Array, rowCount: number) => Promise<ArrayLike<number>>;

/** Background rows, row-major, with optional weights (uniform when absent). */
export interface Background {
  rows: Float32Array;
  count: number;
  width: number;
  weights?: Float64Array;
}

/** What every coalition evaluation needs: the model, the link and a running tally. */
export interface EvaluationContext {
  evaluate: ModelEvaluator;
  outputCount: number;
  link: LinkName;
  /** Most rows handed to `evaluate` at once. */
  batchRows: number;
  /** Rows the model has run so far; incremented by every call. */
  modelEvaluations: number;
  /** Called after every batch with the rows it held. */
  onRows?: (rows: number) => void | Promise<void>;
}

/** Builds a background from plain rows. */
export function toBackground(rows: number[][], weights?: number[]): Background {
  const width = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * width);
  rows.forEach((row, r) => data.set(row, r * width));
  return {
    rows: data,
    count: rows.length,
    width,
    weights: weights ? Float64Array.from(weights) : undefined,
  };
}

/**
 * Model outputs in link space for plain rows.
 * @returns rowCount × outputCount values, row-major, float64.
 */
export async function linkedOutputs(
  ctx: EvaluationContext,
  rows: Float32Array,
  rowCount: number,
): Promise<Float64Array> {
  const out = await runModel(ctx, rows, rowCount);
  if (ctx.link !== 'identity') {
    for (let i = 0; i < out.length; i++) out[i] = applyLink(ctx.link, out[i]);
  }
  return out;
}

/**
 * The link of the weighted mean model output over the background: the base value per output,
 * equal to v(empty coalition).
 */
export async function backgroundMean(ctx: EvaluationContext, bg: Background): Promise<Float64Array> {
  const raw = await runModel(ctx, bg.rows, bg.count);
  const mean = new Float64Array(ctx.outputCount);
  accumulateMean(raw, 0, bg, ctx.outputCount, mean, 0);
  return linkInPlace(ctx.link, mean);
}

function linkInPlace(link: LinkName, values: Float64Array): Float64Array {
  if (link === 'identity') return values;
  for (let i = 0; i < values.length; i++) values[i] = applyLink(link, values[i]);
  return values;
}

/**
 * The value function v(S) for each coalition S: link(E_b[f(z)]), the link of the weighted mean
 * over background rows b of f(z), where z takes the instance's values on the features in S and
 * b's elsewhere. The link is applied to the expectation, not averaged over the background, as
 * the KernelSHAP paper and the reference implementation define it; an average of log-odds would
 * let one saturated background row dominate every coalition.
 * @param features - indices into the row of the features the masks refer to.
 * @param masks - coalitionCount × features.length, 1 where the feature is in the coalition.
 * @returns coalitionCount × outputCount values, row-major.
 */
export async function coalitionValues(
  ctx: EvaluationContext,
  instance: ArrayLike<number>,
  bg: Background,
  features: number[],
  masks: Uint8Array,
  coalitionCount: number,
): Promise<Float64Array> {
  const k = ctx.outputCount;
  const values = new Float64Array(coalitionCount * k);
  const perBatch = Math.max(1, Math.floor(ctx.batchRows / bg.count));
  // One buffer for every batch: fresh multi-megabyte arrays per batch cost more in garbage
  // collection than the rest of the JavaScript around the model.
  const scratch = new Float32Array(Math.min(perBatch, coalitionCount) * bg.count * bg.width);
  for (let start = 0; start < coalitionCount; start += perBatch) {
    const end = Math.min(coalitionCount, start + perBatch);
    const rows = maskedRows(instance, bg, features, masks, start, end, scratch);
    const raw = await runModel(ctx, rows, (end - start) * bg.count);
    for (let c = start; c < end; c++) {
      accumulateMean(raw, (c - start) * bg.count * k, bg, k, values, c * k);
    }
  }
  return linkInPlace(ctx.link, values);
}

/**
 * Rows for coalitions [start, end): background copies with coalition features from the
 * instance, written into the front of `scratch`.
 */
function maskedRows(
  instance: ArrayLike<number>,
  bg: Background,
  features: number[],
  masks: Uint8Array,
  start: number,
  end: number,
  scratch: Float32Array,
): Float32Array {
  const m = features.length;
  const block = bg.count * bg.width;
  const rows = scratch.subarray(0, (end - start) * block);
  for (let c = start; c < end; c++) {
    const offset = (c - start) * block;
    rows.set(bg.rows, offset);
    for (let j = 0; j < m; j++) {
      if (masks[c * m + j] === 0) continue;
      const f = features[j];
      const value = instance[f];
      for (let r = 0; r < bg.count; r++) rows[offset + r * bg.width + f] = value;
    }
  }
  return rows;
}

function accumulateMean(
  linked: ArrayLike<number>,
  from: number,
  bg: Background,
  k: number,
  target: Float64Array,
  at: number,
): void {
  let total = 0;
  for (let r = 0; r < bg.count; r++) {
    const w = bg.weights ? bg.weights[r] : 1;
    total += w;
    for (let o = 0; o < k; o++) target[at + o] += w * linked[from + r * k + o];
  }
  for (let o = 0; o < k; o++) target[at + o] /= total;
}

async function runModel(
  ctx: EvaluationContext,
  rows: Float32Array,
  rowCount: number,
): Promise<Float64Array> {
  const width = rowCount === 0 ? 0 : rows.length / rowCount;
  const out = new Float64Array(rowCount * ctx.outputCount);
  for (let start = 0; start < rowCount; start += ctx.batchRows) {
    const end = Math.min(rowCount, start + ctx.batchRows);
    const result = await ctx.evaluate(rows.subarray(start * width, end * width), end - start);
    if (result.length !== (end - start) * ctx.outputCount) {
      throw new Error(
        `model returned ${result.length} values for ${end - start} rows of ${ctx.outputCount} outputs`,
      );
    }
    out.set(result, start * ctx.outputCount);
    ctx.modelEvaluations += end - start;
    await ctx.onRows?.(end - start);
  }
  return out;
}
