// Reading jobs back: status, progress, result or error.
import { GlassboxError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { decodeFailure, jobTenant, type AnyJob, type JobFailure } from '../jobs/queue.js';
import type { ServiceContext } from './context.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** A job as the API shows it. */
export interface JobView {
  id: string;
  type: string;
  status: JobStatus;
  progress: number;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: unknown | null;
  error: JobFailure | null;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A job of the principal's tenant, as the API shows it. */
export async function getJob(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<JobView> {
  return viewJob(ctx, await findOwnedJob(ctx, principal, id));
}

/**
 * The queue's job under an id, when it belongs to the principal's tenant. Every route that
 * reads, cancels or lists jobs goes through here (or filters with `jobTenant`), so that another
 * tenant's job looks exactly like one that does not exist.
 * @throws GlassboxError GBX_ERR_JOB_NOT_FOUND, or GBX_ERR_QUEUE_UNAVAILABLE without Redis.
 */
export async function findOwnedJob(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<AnyJob> {
  let job: AnyJob | undefined;
  if (ID_PATTERN.test(id)) {
    try {
      job = await ctx.queue.getJob(id);
    } catch (err) {
      throw queueUnavailable(err);
    }
  }
  if (!job || jobTenant(job) !== principal.tenant) {
    throw new GlassboxError('GBX_ERR_JOB_NOT_FOUND', `no job with id ${id}`);
  }
  return job;
}

async function viewJob(ctx: ServiceContext, job: AnyJob): Promise<JobView> {
  const status = toStatus(await job.getState());
  const result = status === 'completed' ? await ctx.results.read(job.id as string) : null;
  return {
    id: job.id as string,
    type: job.name,
    status,
    progress: status === 'completed' ? 1 : typeof job.progress === 'number' ? job.progress : 0,
    attempts: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: job.finishedOn && status !== 'running' ? new Date(job.finishedOn).toISOString() : null,
    result,
    error: status === 'failed' ? decodeFailure(job.failedReason) : null,
  };
}

/** BullMQ states mapped onto the four the API promises. */
function toStatus(state: string): JobStatus {
  if (state === 'active') return 'running';
  if (state === 'completed') return 'completed';
  if (state === 'failed') return 'failed';
  return 'queued';
}

export function queueUnavailable(err: unknown): GlassboxError {
  return new GlassboxError(
    'GBX_ERR_QUEUE_UNAVAILABLE',
    'the job queue (Redis) cannot be reached; try again shortly',
    [],
    { cause: err },
  );
}
