// Computes an explanation in the test process, outside the queue, to compare a job's numbers with.
import type { ExplanationPayload } from '../../src/jobs/queue.js';
import { createLocalCompute } from '../../src/worker/compute.js';
import type { ExplanationJobResult } from '../../src/worker/explanation.js';
import type { ModelSource } from '../../src/worker/model-cache.js';

/** The result of `payload` computed whole in this thread: what one unsplit job gives. */
export async function computeWhole(
  models: ModelSource,
  payload: ExplanationPayload,
): Promise<ExplanationJobResult> {
  const compute = createLocalCompute(models, { batchRows: 65536, cacheBytes: 1 << 20 });
  try {
    return (await compute.explain(payload, () => undefined)).result;
  } finally {
    await compute.close();
  }
}
