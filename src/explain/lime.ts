// LIME for tabular data (Ribeiro et al., 2016): a weighted ridge surrogate fitted to model
// outputs on perturbations around the instance, weighted by an exponential kernel on distance.
import { Matrix, solve } from 'ml-matrix';
import { linkedOutputs, type EvaluationContext } from './coalition-values.js';
import { lassoEntryOrder } from './lasso.js';
import { createRandom, type Random } from './random.js';

export const FEATURE_SELECTIONS = [
  'auto',
  'forward_selection',
  'highest_weights',
  'lasso_path',
  'none',
] as const;
export type FeatureSelection = (typeof FEATURE_SELECTIONS)[number];
export type Discretizer = 'none' | 'quartile' | 'decile';

export interface LimeOptions {
  /** Perturbed rows per instance, the instance itself included. */
  numSamples: number;
  seed: number;
  /** Features with nonzero weight per output; defaults to every feature. */
  numFeatures?: number;
  featureSelection: FeatureSelection;
  /** Kernel width; defaults to 0.75 * sqrt(M). */
  kernelWidth?: number;
  discretizer: Discretizer;
  /** Indices of categorical features. */
  categorical: number[];
  /** Ridge penalty of the surrogate. */
  ridgeAlpha: number;
}

/** Surrogates per instance: intercepts[i][o], weights[i][f][o], scores[i][o]. */
export interface LimeResult {
  intercepts: number[][];
  weights: number[][][];
  /** Weighted R-squared of the surrogate on its perturbations, per output. */
  scores: number[][];
  /** The surrogate's prediction at the instance, per output. */
  localPredictions: number[][];
  /** The model's output at the instance. */
  outputs: number[][];
  kernelWidth: number;
}

/** How each feature is perturbed and represented, from the background's statistics. */
interface FeatureModel {
  kind: 'continuous' | 'binned' | 'categorical';
  mean: number;
  std: number;
  /** Sorted inner bin edges (binned) or category values seen (categorical). */
  levels: number[];
  /** Background values, for binned and categorical sampling. */
  seen: number[];
}

/**
 * Explains each instance by a local linear surrogate. Continuous features are perturbed as
 * x + N(0, 1) * std and represented in standardized units (z - mean) / std; discretized and
 * categorical features are drawn from the background (a bin by its frequency, then a value
 * seen in that bin; a category by its frequency) and represented as 1 when they match the
 * instance's bin or category. Sample weights are sqrt(exp(-d^2 / width^2)) with d the
 * Euclidean distance to the instance in that representation. A column constant over the
 * samples carries no information: its weight is exactly 0.
 * Cost: numSamples model rows per instance.
 */
export async function lime(
  ctx: EvaluationContext,
  instances: number[][],
  background: number[][],
  options: LimeOptions,
): Promise<LimeResult> {
  const m = background[0].length;
  const k = ctx.outputCount;
  const features = describeFeatures(background, options);
  const width = options.kernelWidth ?? 0.75 * Math.sqrt(m);
  const rng = createRandom(options.seed);
  const result: LimeResult = {
    intercepts: [],
    weights: [],
    scores: [],
    localPredictions: [],
    outputs: [],
    kernelWidth: width,
  };

  for (const x of instances) {
    const n = Math.max(2, options.numSamples);
    const { rows, repr } = perturb(x, features, n, rng);
    const y = await linkedOutputs(ctx, rows, n);
    const sampleWeights = kernelWeights(repr, n, m, width);
    const fits = Array.from({ length: k }, (_, o) => {
      const target = Float64Array.from({ length: n }, (_, r) => y[r * k + o]);
      return fitOutput(repr, target, sampleWeights, n, m, options);
    });
    result.outputs.push(Array.from(y.subarray(0, k)));
    result.intercepts.push(fits.map((f) => f.intercept));
    result.scores.push(fits.map((f) => f.score));
    result.localPredictions.push(fits.map((f) => f.local));
    result.weights.push(Array.from({ length: m }, (_, j) => fits.map((f) => f.coef[j])));
  }
  return result;
}

function describeFeatures(background: number[][], options: LimeOptions): FeatureModel[] {
  const m = background[0].length;
  return Array.from({ length: m }, (_, j) => {
    const seen = background.map((row) => Math.fround(row[j]));
    const mean = seen.reduce((s, v) => s + v, 0) / seen.length;
    const std = Math.sqrt(seen.reduce((s, v) => s + (v - mean) ** 2, 0) / seen.length);
    if (options.categorical.includes(j)) {
      return {
        kind: 'categorical',
        mean,
        std,
        levels: [...new Set(seen)].sort((a, b) => a - b),
        seen,
      };
    }
    if (options.discretizer !== 'none') {
      const cuts =
        options.discretizer === 'quartile' ? [25, 50, 75] : [10, 20, 30, 40, 50, 60, 70, 80, 90];
      // Tied columns give repeated edges; keeping distinct ones leaves fewer (or no) bins.
      const edges = [...new Set(cuts.map((p) => percentile(seen, p)))];
      return { kind: 'binned', mean, std, levels: edges, seen };
    }
    return { kind: 'continuous', mean, std, levels: [], seen };
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

function binOf(value: number, edges: number[]): number {
  let bin = 0;
  while (bin < edges.length && value > edges[bin]) bin++;
  return bin;
}

/** Model rows (float32) and their representation (float64); row 0 is the instance. */
function perturb(
  x: number[],
  features: FeatureModel[],
  n: number,
  rng: Random,
): { rows: Float32Array; repr: Float64Array } {
  const m = features.length;
  const rows = new Float32Array(n * m);
  const repr = new Float64Array(n * m);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < m; j++) {
      const f = features[j];
      const value = r === 0 ? Math.fround(x[j]) : sampleValue(x[j], f, rng);
      rows[r * m + j] = value;
      repr[r * m + j] = represent(value, x[j], f);
    }
  }
  return { rows, repr };
}

function sampleValue(xj: number, f: FeatureModel, rng: Random): number {
  if (f.kind === 'continuous') return Math.fround(xj + gaussian(rng) * f.std);
  // A value drawn from the background: categories and bins come at their observed frequency.
  return f.seen[rng.int(f.seen.length)];
}

function represent(value: number, xj: number, f: FeatureModel): number {
  if (f.kind === 'continuous') return f.std > 0 ? (value - f.mean) / f.std : 0;
  if (f.kind === 'categorical') return value === Math.fround(xj) ? 1 : 0;
  return binOf(value, f.levels) === binOf(Math.fround(xj), f.levels) ? 1 : 0;
}

function gaussian(rng: Random): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function kernelWeights(repr: Float64Array, n: number, m: number, width: number): Float64Array {
  const weights = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let d2 = 0;
    for (let j = 0; j < m; j++) d2 += (repr[r * m + j] - repr[j]) ** 2;
    weights[r] = Math.sqrt(Math.exp(-d2 / (width * width)));
  }
  return weights;
}

interface Fit {
  intercept: number;
  coef: Float64Array;
  score: number;
  local: number;
}

function fitOutput(
  repr: Float64Array,
  y: Float64Array,
  weights: Float64Array,
  n: number,
  m: number,
  options: LimeOptions,
): Fit {
  const informative = varyingColumns(repr, n, m);
  const wanted = Math.min(options.numFeatures ?? m, informative.length);
  const chosen = selectFeatures(repr, y, weights, n, m, informative, wanted, options);
  const fit = weightedRidge(repr, y, weights, n, m, chosen, options.ridgeAlpha);
  const coef = new Float64Array(m);
  chosen.forEach((j, a) => (coef[j] = fit.beta[a]));
  let local = fit.intercept;
  chosen.forEach((j, a) => (local += fit.beta[a] * repr[j]));
  return { intercept: fit.intercept, coef, score: fit.score, local };
}

function varyingColumns(repr: Float64Array, n: number, m: number): number[] {
  const columns: number[] = [];
  for (let j = 0; j < m; j++) {
    for (let r = 1; r < n; r++) {
      if (repr[r * m + j] !== repr[j]) {
        columns.push(j);
        break;
      }
    }
  }
  return columns;
}

function selectFeatures(
  repr: Float64Array,
  y: Float64Array,
  weights: Float64Array,
  n: number,
  m: number,
  candidates: number[],
  wanted: number,
  options: LimeOptions,
): number[] {
  let method = options.featureSelection;
  if (method === 'auto') method = wanted <= 6 ? 'forward_selection' : 'highest_weights';
  if (method === 'none' || wanted >= candidates.length) return candidates;
  if (method === 'highest_weights') {
    const fit = weightedRidge(repr, y, weights, n, m, candidates, options.ridgeAlpha);
    return candidates
      .map((j, a) => ({ j, size: Math.abs(fit.beta[a]) }))
      .sort((p, q) => q.size - p.size)
      .slice(0, wanted)
      .map((p) => p.j)
      .sort((a, b) => a - b);
  }
  if (method === 'lasso_path') {
    const sub = columnsOf(repr, n, m, candidates);
    const order = lassoEntryOrder(sub, y, weights, n, candidates.length);
    return order
      .slice(0, wanted)
      .map((a) => candidates[a])
      .sort((a, b) => a - b);
  }
  const chosen: number[] = [];
  while (chosen.length < wanted) {
    let best = -1;
    let bestScore = -Infinity;
    for (const j of candidates) {
      if (chosen.includes(j)) continue;
      const score = weightedRidge(repr, y, weights, n, m, [...chosen, j], options.ridgeAlpha).score;
      if (score > bestScore) [best, bestScore] = [j, score];
    }
    chosen.push(best);
  }
  return chosen.sort((a, b) => a - b);
}

function columnsOf(repr: Float64Array, n: number, m: number, columns: number[]): Float64Array {
  const out = new Float64Array(n * columns.length);
  for (let r = 0; r < n; r++)
    columns.forEach((j, a) => (out[r * columns.length + a] = repr[r * m + j]));
  return out;
}

/**
 * Minimizes sum_r w_r (y_r - b - z_r . beta)^2 + alpha |beta|^2 over the chosen columns, with the
 * intercept b unpenalized (the columns are centered by weighted means first).
 * @returns beta, b, and the weighted R-squared of the fit.
 */
function weightedRidge(
  repr: Float64Array,
  y: Float64Array,
  weights: Float64Array,
  n: number,
  m: number,
  columns: number[],
  alpha: number,
): { beta: Float64Array; intercept: number; score: number } {
  const q = columns.length;
  let total = 0;
  let yMean = 0;
  const xMean = new Float64Array(q);
  for (let r = 0; r < n; r++) {
    total += weights[r];
    yMean += weights[r] * y[r];
    columns.forEach((j, a) => (xMean[a] += weights[r] * repr[r * m + j]));
  }
  yMean /= total;
  for (let a = 0; a < q; a++) xMean[a] /= total;

  const beta = new Float64Array(q);
  if (q > 0) {
    // Normal equations accumulated in flat arrays; Matrix element access is slow in loops.
    const normal = new Float64Array(q * q);
    const moment = new Float64Array(q);
    const row = new Float64Array(q);
    for (let r = 0; r < n; r++) {
      for (let a = 0; a < q; a++) row[a] = repr[r * m + columns[a]] - xMean[a];
      const wy = weights[r] * (y[r] - yMean);
      for (let a = 0; a < q; a++) {
        const wa = weights[r] * row[a];
        moment[a] += row[a] * wy;
        for (let b = a; b < q; b++) normal[a * q + b] += wa * row[b];
      }
    }
    const lhs = Matrix.zeros(q, q);
    for (let a = 0; a < q; a++) {
      for (let b = a; b < q; b++) {
        lhs.set(a, b, normal[a * q + b]);
        lhs.set(b, a, normal[a * q + b]);
      }
      lhs.set(a, a, normal[a * q + a] + alpha);
    }
    const rhs = Matrix.columnVector(Array.from(moment));
    solve(lhs, rhs)
      .to1DArray()
      .forEach((v, a) => (beta[a] = v));
  }
  let intercept = yMean;
  for (let a = 0; a < q; a++) intercept -= beta[a] * xMean[a];

  let residual = 0;
  let spread = 0;
  for (let r = 0; r < n; r++) {
    let fit = intercept;
    columns.forEach((j, a) => (fit += beta[a] * repr[r * m + j]));
    residual += weights[r] * (y[r] - fit) ** 2;
    spread += weights[r] * (y[r] - yMean) ** 2;
  }
  return { beta, intercept, score: spread > 0 ? 1 - residual / spread : 1 };
}
