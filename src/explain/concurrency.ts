// Runs per-instance work a few at a time, so that while one instance plans coalitions or solves
// its regression, another one's rows are with the model.

/** Instances worked on at once. */
export const INSTANCES_IN_FLIGHT = 2;

/**
 * Calls `work(i)` for i = 0..count-1, at most `limit` at a time, and resolves with the results in
 * index order. After a rejection no further call starts, and the first rejection rejects the
 * whole once every started call has settled.
 */
export async function mapConcurrently<T>(
  count: number,
  limit: number,
  work: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < count && !failed) {
      const index = next++;
      try {
        results[index] = await work(index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(limit, count) }, lane);
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
