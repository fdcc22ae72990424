// Shapley values by permutation sampling (Castro et al., 2009) with antithetic pairs: each
// random feature order is walked together with its reverse, whose errors tend to cancel.
import {
  coalitionValues,
  referenceOutputs,
  type Background,
  type EvaluationContext,
  type ReferenceOutputs,
} from './coalition-values.js';
import { INSTANCES_IN_FLIGHT, mapConcurrently } from './concurrency.js';
import {
  assembleShapley,
  scatterFeatures,
  soleFeatureShapley,
  varyingFeatures,
  type InstanceShapley,
  type ShapleyResult,
} from './kernel-shap.js';
import { createRandom, instanceSeed, type Random } from './random.js';

/** Options of one sampling run. */
export interface SamplingShapOptions {
  /** Feature orders walked per instance (rounded up to an even count), or `auto`. */
  permutations: number | 'auto';
  /** Request seed; instance i draws its orders from `instanceSeed(seed, firstInstance + i)`. */
  seed: number;
  /** Position of `instances[0]` in the whole request, when these are one chunk of it. */
  firstInstance?: number;
}

/** The `auto` budget: about as many coalitions as KernelSHAP's auto (2M + 2048), at least 20. */
export function autoPermutationCount(featureCount: number): number {
  const orders = Math.ceil((2 * featureCount + 2048) / Math.max(1, featureCount - 1));
  return Math.max(20, orders + (orders % 2));
}

/**
 * phi_j = E over orders pi of [v(pre_pi(j) + j) - v(pre_pi(j))], with pre_pi(j) the features
 * before j in pi. Orders come in pairs (pi, reverse pi); the pair's mean contribution is one
 * sample, so the standard error is sd(pair means) / sqrt(pairs). Every order's contributions sum
 * to f(x) - E[f], so the estimate adds up exactly. Cost: orders × (M - 1) coalitions, each over
 * every background row.
 */
export async function samplingShap(
  ctx: EvaluationContext,
  instances: number[][],
  bg: Background,
  options: SamplingShapOptions,
): Promise<ShapleyResult> {
  const k = ctx.outputCount;
  const reference = referenceOutputs(ctx, instances, bg);
  // Each instance draws its orders from its own stream, so a chunk of the request gives the
  // same values as the whole.
  const first = options.firstInstance ?? 0;
  const explained = await mapConcurrently(instances.length, INSTANCES_IN_FLIGHT, (i) => {
    const m = varyingFeatures(instances[i], bg).length;
    const requested =
      options.permutations === 'auto' ? autoPermutationCount(m) : options.permutations;
    const rng = createRandom(instanceSeed(options.seed, first + i));
    const orders = m > 1 ? antitheticOrders(m, Math.max(1, Math.ceil(requested / 2)), rng) : [];
    return explainInstance(ctx, instances[i], i, reference, bg, orders);
  });
  return assembleShapley(reference, explained, bg.width, k, true);
}

/** Permutation sampling for instance `index` over the given feature orders. */
async function explainInstance(
  ctx: EvaluationContext,
  x: number[],
  index: number,
  reference: Promise<ReferenceOutputs>,
  bg: Background,
  orders: Int32Array[],
): Promise<InstanceShapley> {
  const k = ctx.outputCount;
  const varying = varyingFeatures(x, bg);
  const m = varying.length;
  const count = orders.length * (m - 1);
  const v =
    m > 1 ? await coalitionValues(ctx, x, bg, varying, prefixMasks(orders, m), count) : null;
  const { base, fx: outputs } = await reference;
  const fx = outputs.subarray(index * k, (index + 1) * k);
  if (!v) return soleFeatureShapley(varying, fx, base, bg.width, k);
  const [mean, stderr] = pairStatistics(orders, v, fx, base, m, k);
  return {
    phi: scatterFeatures(mean, varying, bg.width, k),
    errors: scatterFeatures(stderr, varying, bg.width, k),
    coalitions: count,
  };
}

/** `pairs` random orders of 0..m-1, each followed by its reverse. */
function antitheticOrders(m: number, pairs: number, rng: Random): Int32Array[] {
  const orders: Int32Array[] = [];
  for (let p = 0; p < pairs; p++) {
    const order = Int32Array.from({ length: m }, (_, j) => j);
    for (let j = m - 1; j > 0; j--) {
      const r = rng.int(j + 1);
      [order[j], order[r]] = [order[r], order[j]];
    }
    orders.push(order, order.slice().reverse());
  }
  return orders;
}

/** For each order, the coalitions of its first 1..m-1 features, as masks over m features. */
function prefixMasks(orders: Int32Array[], m: number): Uint8Array {
  const masks = new Uint8Array(orders.length * (m - 1) * m);
  orders.forEach((order, p) => {
    for (let t = 1; t < m; t++) {
      const at = (p * (m - 1) + t - 1) * m;
      for (let s = 0; s < t; s++) masks[at + order[s]] = 1;
    }
  });
  return masks;
}

/** Mean and standard error over antithetic pairs of each feature's marginal contribution. */
function pairStatistics(
  orders: Int32Array[],
  v: Float64Array,
  fx: ArrayLike<number>,
  base: ArrayLike<number>,
  m: number,
  k: number,
): [Float64Array, Float64Array] {
  const pairs = orders.length / 2;
  // Welford's running mean and sum of squared deviations: no cancellation when the
  // contributions hardly vary (a linear model gives the same one every time).
  const mean = new Float64Array(m * k);
  const deviations = new Float64Array(m * k);
  const pairMean = new Float64Array(m * k);
  for (let p = 0; p < pairs; p++) {
    pairMean.fill(0);
    for (const q of [2 * p, 2 * p + 1]) {
      const order = orders[q];
      for (let t = 0; t < m; t++) {
        for (let o = 0; o < k; o++) {
          const before = t === 0 ? base[o] : v[(q * (m - 1) + t - 1) * k + o];
          const after = t === m - 1 ? fx[o] : v[(q * (m - 1) + t) * k + o];
          pairMean[order[t] * k + o] += (after - before) / 2;
        }
      }
    }
    for (let i = 0; i < m * k; i++) {
      const delta = pairMean[i] - mean[i];
      mean[i] += delta / (p + 1);
      deviations[i] += delta * (pairMean[i] - mean[i]);
    }
  }
  const stderr = new Float64Array(m * k);
  if (pairs > 1) {
    for (let i = 0; i < m * k; i++) stderr[i] = Math.sqrt(deviations[i] / (pairs - 1) / pairs);
  }
  return [mean, stderr];
}
