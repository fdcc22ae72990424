// References to a model's features, by name or by 0-based index, as requests and metadata give
// them.
import { z } from 'zod';

const FEATURE_REF_MESSAGE = 'must be a feature name or a feature index (an integer from 0)';

/** A feature name or a 0-based index. */
export const featureRefSchema = z.union(
  [z.number().int({ error: FEATURE_REF_MESSAGE }).min(0), z.string().min(1).max(200)],
  { error: FEATURE_REF_MESSAGE },
);

/** The index a feature name or index stands for, or why it stands for none. */
export function resolveFeature(
  ref: number | string,
  featureNames: string[],
  featureCount: number,
): { index: number } | { problem: string } {
  if (typeof ref === 'string') {
    const index = featureNames.indexOf(ref);
    if (index < 0) return { problem: `no feature named ${JSON.stringify(ref)} in the model` };
    return { index };
  }
  if (ref >= featureCount) {
    return { problem: `index ${ref} is out of range: the model has ${featureCount} features` };
  }
  return { index: ref };
}
