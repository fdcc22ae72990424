// Exact Shapley values by enumerating every coalition: the definition itself, affordable for a
// few features, and the oracle the sampling methods are tested against.
import {
  coalitionValues,
  referenceOutputs,
  type Background,
  type EvaluationContext,
} from './coalition-values.js';
import { INSTANCES_IN_FLIGHT, mapConcurrently } from './concurrency.js';
import { assembleShapley, varyingFeatures, type ShapleyResult } from './kernel-shap.js';

/** Enumeration doubles with each feature; past this many varying features it is refused. */
export const DEFAULT_EXACT_SHAP_MAX_FEATURES = 16;

/**
 * phi_i = sum over S not containing i of |S|! (M - |S| - 1)! / M! * (v(S + i) - v(S)),
 * with v(S) the background mean of link(f) where features in S take the instance's values.
 * All 2^M coalitions of the varying features are evaluated, so the cost is 2^M × background rows.
 * @param maxFeatures - most varying features allowed; more throws before any model call.
 */
export async function exactShap(
  ctx: EvaluationContext,
  instances: number[][],
  bg: Background,
  maxFeatures = DEFAULT_EXACT_SHAP_MAX_FEATURES,
): Promise<ShapleyResult> {
  const k = ctx.outputCount;
  for (const x of instances) {
    const m = varyingFeatures(x, bg).length;
    if (m > maxFeatures) {
      throw new Error(`exact Shapley values over ${m} features need 2^${m} coalitions`);
    }
  }
  const reference = referenceOutputs(ctx, instances, bg);
  const explained = await mapConcurrently(instances.length, INSTANCES_IN_FLIGHT, (i) =>
    explainInstance(ctx, instances[i], bg),
  );
  return assembleShapley(reference, explained, bg.width, k, false);
}

/** Every coalition of one instance's varying features, weighted into Shapley values. */
async function explainInstance(
  ctx: EvaluationContext,
  x: number[],
  bg: Background,
): Promise<{ phi: Float64Array; coalitions: number }> {
  const k = ctx.outputCount;
  const varying = varyingFeatures(x, bg);
  const m = varying.length;
  const count = 2 ** m;
  const v = await coalitionValues(ctx, x, bg, varying, allMasks(m), count);
  const phi = new Float64Array(bg.width * k);
  const weights = shapleyWeights(m);
  for (let j = 0; j < m; j++) {
    const bit = 1 << j;
    for (let s = 0; s < count; s++) {
      if (s & bit) continue;
      const w = weights[popcount(s)];
      for (let o = 0; o < k; o++) {
        phi[varying[j] * k + o] += w * (v[(s | bit) * k + o] - v[s * k + o]);
      }
    }
  }
  return { phi, coalitions: count };
}

/** Mask c has feature j when bit j of c is set; coalition index equals its bit pattern. */
function allMasks(m: number): Uint8Array {
  const count = 2 ** m;
  const masks = new Uint8Array(count * m);
  for (let c = 0; c < count; c++) for (let j = 0; j < m; j++) masks[c * m + j] = (c >> j) & 1;
  return masks;
}

/** |S|! (M - |S| - 1)! / M! for |S| = 0..M-1, computed as 1 / (M * C(M-1, |S|)). */
function shapleyWeights(m: number): Float64Array {
  const weights = new Float64Array(m);
  let binom = 1;
  for (let s = 0; s < m; s++) {
    weights[s] = 1 / (m * binom);
    binom = (binom * (m - 1 - s)) / (s + 1);
  }
  return weights;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}
