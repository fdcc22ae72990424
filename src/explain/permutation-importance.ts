// Permutation importance (Breiman, 2001; Fisher et al., 2019): how much a model's score drops
// when one feature, or a group of features, is shuffled across rows, breaking its link to the
// target while keeping its distribution.
import {
  linkedOutputs,
  linkInPlace,
  streamBlocks,
  type EvaluationContext,
} from './coalition-values.js';
import { createRandom, type Random } from './random.js';

export const METRICS = ['accuracy', 'log_loss', 'mse', 'mae', 'r2'] as const;
export type Metric = (typeof METRICS)[number];

export interface PermutationOptions {
  /** One target per row: a class index for accuracy and log_loss, a number otherwise. */
  labels?: number[];
  metric?: Metric;
  nRepeats: number;
  seed: number;
  /** Column groups shuffled together; defaults to one group per feature. */
  groups?: number[][];
}

export interface PermutationResult {
  /** The metric on the unshuffled rows; null without labels. */
  baselineScore: number | null;
  /** Per group: the mean, population std and every repeat of the importance. */
  importances: { features: number[]; mean: number; std: number; repeats: number[] }[];
}

/**
 * With labels, the importance of a group in one repeat is score(unshuffled) - score(shuffled)
 * for metrics where higher is better (accuracy, r2) and loss(shuffled) - loss(unshuffled) for
 * losses (log_loss, mse, mae), so a larger number always means the group mattered more;
 * negative numbers (shuffling helped) are reported as they are. Without labels it is the mean
 * over rows and outputs of |f(shuffled) - f(rows)|. Every group in every repeat gets its own
 * seeded row permutation; the shuffled copies run through the model in large batches.
 * Cost: rows × (1 + groups × nRepeats) model rows.
 */
export async function permutationImportance(
  ctx: EvaluationContext,
  rows: number[][],
  options: PermutationOptions,
): Promise<PermutationResult> {
  const n = rows.length;
  const m = rows[0].length;
  const k = ctx.outputCount;
  const groups = options.groups ?? Array.from({ length: m }, (_, j) => [j]);
  const rng = createRandom(options.seed);
  const flat = Float32Array.from(rows.flat());
  const baseline = await linkedOutputs(ctx, flat, n);
  const score = options.labels ? scorer(options.metric ?? 'accuracy', options.labels, k) : null;
  const baselineScore = score ? score(baseline) : null;

  // Shuffled copies are written batch by batch while earlier batches are with the model; each
  // copy's outputs are reduced to one number as they come back.
  const copies = groups.length * options.nRepeats;
  const copyScores = new Float64Array(copies);
  const copyOutputs = new Float64Array(n * k);
  const groupOf = (c: number) => groups[Math.floor(c / options.nRepeats)];
  const reduce = (out: Float64Array): number => {
    if (!score) return meanAbsoluteChange(out, baseline);
    const drop = (baselineScore as number) - score(out);
    return higherIsBetter(options.metric ?? 'accuracy') ? drop : -drop;
  };
  await streamBlocks(
    ctx,
    { count: copies, rows: n, width: m },
    (start, end, target) => {
      for (let c = start; c < end; c++) {
        const offset = (c - start) * n * m;
        target.set(flat, offset);
        shuffleColumns(target, offset, flat, n, m, groupOf(c), rng);
      }
      return target.subarray(0, (end - start) * n * m);
    },
    (start, end, raw) => {
      for (let c = start; c < end; c++) {
        const from = (c - start) * n * k;
        for (let i = 0; i < copyOutputs.length; i++) copyOutputs[i] = raw[from + i];
        copyScores[c] = reduce(linkInPlace(ctx.link, copyOutputs));
      }
    },
  );

  const importances = groups.map((features, g) => {
    const first = g * options.nRepeats;
    const repeats = Array.from(copyScores.subarray(first, first + options.nRepeats));
    const mean = repeats.reduce((s, v) => s + v, 0) / repeats.length;
    const std = Math.sqrt(repeats.reduce((s, v) => s + (v - mean) ** 2, 0) / repeats.length);
    return { features, mean, std, repeats };
  });
  return { baselineScore, importances };
}

/** Applies one random row permutation to the group's columns of the copy at `offset`. */
function shuffleColumns(
  target: Float32Array,
  offset: number,
  source: Float32Array,
  n: number,
  m: number,
  features: number[],
  rng: Random,
): void {
  const order = Int32Array.from({ length: n }, (_, r) => r);
  for (let r = n - 1; r > 0; r--) {
    const s = rng.int(r + 1);
    [order[r], order[s]] = [order[s], order[r]];
  }
  for (let r = 0; r < n; r++) {
    for (const j of features) target[offset + r * m + j] = source[order[r] * m + j];
  }
}

function meanAbsoluteChange(out: Float64Array, baseline: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += Math.abs(out[i] - baseline[i]);
  return sum / out.length;
}

function higherIsBetter(metric: Metric): boolean {
  return metric === 'accuracy' || metric === 'r2';
}

/**
 * The metric over model outputs (n × k). Classification with one output reads it as
 * P(class 1); with several, as class probabilities. Regression metrics read output 0.
 */
export function scorer(metric: Metric, labels: number[], k: number): (out: Float64Array) => number {
  const n = labels.length;
  const probability = (out: Float64Array, r: number, label: number): number =>
    k === 1 ? (label === 1 ? out[r] : 1 - out[r]) : out[r * k + label];
  const predictedClass = (out: Float64Array, r: number): number => {
    if (k === 1) return out[r] >= 0.5 ? 1 : 0;
    let best = 0;
    for (let o = 1; o < k; o++) if (out[r * k + o] > out[r * k + best]) best = o;
    return best;
  };
  const mean = (f: (r: number) => number) => {
    let sum = 0;
    for (let r = 0; r < n; r++) sum += f(r);
    return sum / n;
  };
  switch (metric) {
    case 'accuracy':
      return (out) => mean((r) => (predictedClass(out, r) === labels[r] ? 1 : 0));
    case 'log_loss':
      return (out) =>
        mean(
          (r) => -Math.log(Math.min(Math.max(probability(out, r, labels[r]), 1e-15), 1 - 1e-15)),
        );
    case 'mse':
      return (out) => mean((r) => (out[r * k] - labels[r]) ** 2);
    case 'mae':
      return (out) => mean((r) => Math.abs(out[r * k] - labels[r]));
    case 'r2': {
      const labelMean = labels.reduce((s, v) => s + v, 0) / n;
      const total = labels.reduce((s, v) => s + (v - labelMean) ** 2, 0);
      return (out) => 1 - (n * mean((r) => (out[r * k] - labels[r]) ** 2)) / total;
    }
  }
}
