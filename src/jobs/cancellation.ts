// Job cancellation: the API raises a flag in Redis, the worker checks it between model batches.
import type { RedisClient as Redis } from './queue.js';
import { QUEUE_NAME } from './queue.js';

/** How long a cancellation flag or a record of a removed job is kept, in seconds. */
const CANCELLATION_TTL_S = 7 * 24 * 3600;

/** What the API keeps of a queued job it removed, so the job still reads as cancelled. */
export interface CancelledJobRecord {
  id: string;
  /** The tenant the job belonged to; only that tenant reads or lists the record. */
  tenant: string;
  type: string;
  modelId: string | null;
  createdAt: string;
  cancelledAt: string;
}

/** Thrown inside a running job when its cancellation flag is seen; ends the job as cancelled. */
export class JobCancelledError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`);
    this.name = 'JobCancelledError';
  }
}

function flagKey(prefix: string, jobId: string): string {
  return `${prefix}:${QUEUE_NAME}:cancel:${jobId}`;
}

function removedKey(prefix: string): string {
  return `${prefix}:${QUEUE_NAME}:cancelled`;
}

/** Raises the flag a worker checks between batches. */
export async function requestCancellation(
  redis: Redis,
  prefix: string,
  jobId: string,
): Promise<void> {
  await redis.set(flagKey(prefix, jobId), '1', 'EX', CANCELLATION_TTL_S);
}

/**
 * The first of the jobs whose cancellation was requested, or null: a chunk of a split request
 * passes its own id and its parent's, so that cancelling the request stops every chunk. One
 * round trip; the flags share the queue's hash tag, so this also holds on Redis Cluster.
 */
export async function cancelledJob(
  redis: Redis,
  prefix: string,
  jobIds: string[],
): Promise<string | null> {
  const flags = await redis.mget(jobIds.map((id) => flagKey(prefix, id)));
  const at = flags.findIndex((flag) => flag !== null);
  return at < 0 ? null : jobIds[at];
}

/**
 * Keeps the record of a queued job that was removed before it ran.
 * Limitation: records live in one hash whose expiry is renewed by every cancellation, so old
 * records outlive the seven days jobs are kept while cancellations keep coming, because Redis
 * expires whole keys, not hash fields.
 */
export async function recordRemovedJob(
  redis: Redis,
  prefix: string,
  record: CancelledJobRecord,
): Promise<void> {
  const key = removedKey(prefix);
  await redis
    .multi()
    .hset(key, record.id, JSON.stringify(record))
    .expire(key, CANCELLATION_TTL_S)
    .exec();
}

export async function readRemovedJob(
  redis: Redis,
  prefix: string,
  jobId: string,
): Promise<CancelledJobRecord | null> {
  const text = await redis.hget(removedKey(prefix), jobId);
  return text === null ? null : (JSON.parse(text) as CancelledJobRecord);
}

export async function listRemovedJobs(redis: Redis, prefix: string): Promise<CancelledJobRecord[]> {
  const all = await redis.hvals(removedKey(prefix));
  return all.map((text) => JSON.parse(text) as CancelledJobRecord);
}
