// LIME for tabular data (Ribeiro et al., 2016): a weighted ridge surrogate fitted to model
// outputs on perturbations around the instance, weighted by an exponential kernel on distance.
import { linkedOutputs, type EvaluationContext } from './coalition-values.js';
import { INSTANCES_IN_FLIGHT, mapConcurrently } from './concurrency.js';
import { lassoEntryOrderFromGram } from './lasso.js';
import {
  centeredGram,
  centeredTarget,
  residualFromGram,
  ridgeFromGram,
  type CenteredGram,
  type CenteredTarget,
} from './normal-equations.js';
import { createRandom, instanceSeed, type Random } from './random.js';

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
  /** Request seed; instance i draws from the stream `instanceSeed(seed, firstInstance + i)`. */
  seed: number;
  /** Position of the first instance in the whole request (nonzero for a chunk of it). */
  firstInstance?: number;
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
  const features = describeFeatures(background, options);
  const width = options.kernelWidth ?? 0.75 * Math.sqrt(m);
  const first = options.firstInstance ?? 0;
  // Each instance has its own stream, so instances may overlap (one's perturbations are drawn
  // while another's rows are with the model) and a chunk of the request gives the same numbers.
  const explained = await mapConcurrently(instances.length, INSTANCES_IN_FLIGHT, (i) =>
    explainInstance(ctx, instances[i], features, width, options, first + i),
  );
  return {
    intercepts: explained.map((e) => e.fits.map((f) => f.intercept)),
    weights: explained.map((e) =>
      Array.from({ length: m }, (_, j) => e.fits.map((f) => f.coef[j])),
    ),
    scores: explained.map((e) => e.fits.map((f) => f.score)),
    localPredictions: explained.map((e) => e.fits.map((f) => f.local)),
    outputs: explained.map((e) => e.outputs),
    kernelWidth: width,
  };
}

/** The surrogate of every output for one instance, `index` its position in the request. */
async function explainInstance(
  ctx: EvaluationContext,
  x: number[],
  features: FeatureModel[],
  width: number,
  options: LimeOptions,
  index: number,
): Promise<{ fits: Fit[]; outputs: number[] }> {
  const m = features.length;
  const k = ctx.outputCount;
  const n = Math.max(2, options.numSamples);
  const rng = createRandom(instanceSeed(options.seed, index));
  const { rows, repr } = perturb(x, features, n, rng);
  const y = await linkedOutputs(ctx, rows, n);
  const sampleWeights = kernelWeights(repr, n, m, width);
  // The columns' normal equations do not depend on the output: one pass serves them all.
  const design = centeredGram(repr, n, m, varyingColumns(repr, n, m), sampleWeights);
  const target = new Float64Array(n);
  const fits = Array.from({ length: k }, (_, o) => {
    for (let r = 0; r < n; r++) target[r] = y[r * k + o];
    return fitOutput(design, repr, target, sampleWeights, m, options);
  });
  return { fits, outputs: Array.from(y.subarray(0, k)) };
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
  // What a drawn value is compared with: the instance's category, or its bin.
  const anchors = features.map((f, j) => instanceKey(Math.fround(x[j]), f));
  for (let j = 0; j < m; j++) {
    const f = features[j];
    rows[j] = Math.fround(x[j]);
    repr[j] = f.kind === 'continuous' ? standardized(rows[j], f) : matches(rows[j], f, anchors[j]);
  }
  // Gaussians come in pairs from two uniforms each; any other feature takes one uniform.
  const continuous = features.filter((f) => f.kind === 'continuous').length;
  const normals = new Float64Array(continuous + (continuous % 2));
  const uniforms = new Float64Array(normals.length + m - continuous);
  for (let r = 1; r < n; r++) {
    rng.fill(uniforms);
    gaussianPairs(uniforms, normals);
    perturbRow(x, features, anchors, normals, uniforms, rows, repr, r * m);
  }
  return { rows, repr };
}

/**
 * Draws one perturbed row at offset `at`, in feature order: continuous features from `normals`,
 * the others from the uniforms after the first `normals.length`.
 */
function perturbRow(
  x: number[],
  features: FeatureModel[],
  anchors: number[],
  normals: Float64Array,
  uniforms: Float64Array,
  rows: Float32Array,
  repr: Float64Array,
  at: number,
): void {
  let g = 0;
  let u = normals.length;
  for (let j = 0; j < features.length; j++) {
    const f = features[j];
    if (f.kind === 'continuous') {
      const value = Math.fround(x[j] + normals[g++] * f.std);
      rows[at + j] = value;
      repr[at + j] = standardized(value, f);
    } else {
      // A value drawn from the background: categories and bins come at their frequency.
      const value = f.seen[Math.floor(uniforms[u++] * f.seen.length)];
      rows[at + j] = value;
      repr[at + j] = matches(value, f, anchors[j]);
    }
  }
}

/**
 * Standard normal draws by Box-Muller, two from each pair of uniforms in [0, 1): the first
 * `normals.length` uniforms are used.
 */
function gaussianPairs(uniforms: Float64Array, normals: Float64Array): void {
  for (let p = 0; p < normals.length; p += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniforms[p]));
    const angle = 2 * Math.PI * uniforms[p + 1];
    normals[p] = radius * Math.cos(angle);
    normals[p + 1] = radius * Math.sin(angle);
  }
}

function standardized(value: number, f: FeatureModel): number {
  return f.std > 0 ? (value - f.mean) / f.std : 0;
}

/** 1 when the value falls in the instance's category or bin, else 0. */
function matches(value: number, f: FeatureModel, anchor: number): number {
  return instanceKey(value, f) === anchor ? 1 : 0;
}

/** The category of a categorical value, the bin of a binned one. */
function instanceKey(value: number, f: FeatureModel): number {
  return f.kind === 'binned' ? binOf(value, f.levels) : value;
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

/** The surrogate of one output, over the informative columns of `design`. */
function fitOutput(
  design: CenteredGram,
  repr: Float64Array,
  y: Float64Array,
  weights: Float64Array,
  m: number,
  options: LimeOptions,
): Fit {
  const target = centeredTarget(design, y, weights);
  const wanted = Math.min(options.numFeatures ?? m, design.columns.length);
  const picks = selectFeatures(design, target, wanted, options);
  const beta = ridgeFromGram(design, target, picks, options.ridgeAlpha);
  const chosen = picks.map((a) => design.columns[a]);
  let intercept = target.mean;
  picks.forEach((a, b) => (intercept -= beta[b] * design.means[a]));
  const coef = new Float64Array(m);
  chosen.forEach((j, b) => (coef[j] = beta[b]));
  let local = intercept;
  chosen.forEach((j, b) => (local += beta[b] * repr[j]));
  const residual = weightedResidual(repr, y, weights, m, chosen, beta, intercept);
  const score = target.spread > 0 ? 1 - residual / target.spread : 1;
  return { intercept, coef, score, local };
}

/** sum_r w_r (y_r - intercept - z_r . beta)^2 over the chosen columns of the representation. */
function weightedResidual(
  repr: Float64Array,
  y: Float64Array,
  weights: Float64Array,
  m: number,
  chosen: number[],
  beta: Float64Array,
  intercept: number,
): number {
  let residual = 0;
  for (let r = 0; r < y.length; r++) {
    let fit = intercept;
    for (let b = 0; b < chosen.length; b++) fit += beta[b] * repr[r * m + chosen[b]];
    residual += weights[r] * (y[r] - fit) ** 2;
  }
  return residual;
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

/** Picks `wanted` of the design's columns; returns their indices in the design, ascending. */
function selectFeatures(
  design: CenteredGram,
  target: CenteredTarget,
  wanted: number,
  options: LimeOptions,
): number[] {
  const all = design.columns.map((_, a) => a);
  let method = options.featureSelection;
  if (method === 'auto') method = wanted <= 6 ? 'forward_selection' : 'highest_weights';
  if (method === 'none' || wanted >= all.length) return all;
  if (method === 'highest_weights') {
    const beta = ridgeFromGram(design, target, all, options.ridgeAlpha);
    return all
      .map((a) => ({ a, size: Math.abs(beta[a]) }))
      .sort((p, q) => q.size - p.size)
      .slice(0, wanted)
      .map((p) => p.a)
      .sort((a, b) => a - b);
  }
  if (method === 'lasso_path') {
    const order = lassoEntryOrderFromGram(design.gram, target.moment, all.length);
    return order.slice(0, wanted).sort((a, b) => a - b);
  }
  return forwardSelection(design, target, wanted, options.ridgeAlpha);
}

/**
 * Greedily adds the column whose ridge fit, with those already chosen, has the smallest
 * weighted residual (the highest R-squared); each fit is solved from the normal equations.
 */
function forwardSelection(
  design: CenteredGram,
  target: CenteredTarget,
  wanted: number,
  alpha: number,
): number[] {
  const chosen: number[] = [];
  while (chosen.length < wanted) {
    let best = -1;
    let bestResidual = Infinity;
    for (let a = 0; a < design.columns.length; a++) {
      if (chosen.includes(a)) continue;
      const picks = [...chosen, a];
      const beta = ridgeFromGram(design, target, picks, alpha);
      const residual = residualFromGram(design, target, picks, beta);
      if (residual < bestResidual) [best, bestResidual] = [a, residual];
    }
    chosen.push(best);
  }
  return chosen.sort((a, b) => a - b);
}
