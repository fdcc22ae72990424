// Results live on disk beside the queue: once BullMQ has removed a finished job (retention by age
// or count), its stored result goes too.
import { QUEUE_NAME, type RedisClient } from './queue.js';
import type { ResultStore } from './result-store.js';

const CHUNK_SUFFIX = /-chunk-\d+$/;

/** A temporary result file this old was left by a worker that died while writing it. */
export const STALE_TEMPORARY_MS = 10 * 60 * 1000;

/** Whether the queue still holds the job (any state). */
export function queueHoldsJob(
  connection: RedisClient,
  prefix: string,
): (jobId: string) => Promise<boolean> {
  return async (jobId) => (await connection.exists(`${prefix}:${QUEUE_NAME}:${jobId}`)) === 1;
}

/**
 * Removes the results of jobs the queue no longer holds, and temporaries left by dead workers. A
 * chunk's result stays while its parent job is held, since the parent merges the chunks' results.
 * @returns the ids whose results were removed.
 */
export async function sweepResults(
  results: ResultStore,
  jobHeld: (jobId: string) => Promise<boolean>,
): Promise<string[]> {
  await results.removeStaleTemporaries(STALE_TEMPORARY_MS);
  const removed: string[] = [];
  for (const jobId of await results.list()) {
    const parentId = jobId.replace(CHUNK_SUFFIX, '');
    if (await jobHeld(jobId)) continue;
    if (parentId !== jobId && (await jobHeld(parentId))) continue;
    await results.remove(jobId);
    removed.push(jobId);
  }
  return removed;
}
