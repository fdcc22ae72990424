// Reading, listing, cancelling and watching jobs: status, progress, result or error.
import type { JobType as QueueState } from 'bullmq';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { GlassboxError, validationError, type FieldProblem } from '../errors.js';
import {
  listRemovedJobs,
  readRemovedJob,
  recordRemovedJob,
  requestCancellation,
  type CancelledJobRecord,
} from '../jobs/cancellation.js';
import {
  chunkJobIds,
  decodeFailure,
  jobTenant,
  type AnyJob,
  type JobFailure,
} from '../jobs/queue.js';
import type { ServiceContext } from './context.js';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job as the API shows it. Lists leave `result` out; fetch one job to read it. */
export interface JobView {
  id: string;
  type: string;
  modelId: string | null;
  status: JobStatus;
  progress: number;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result?: unknown | null;
  error: JobFailure | null;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** BullMQ states behind each status the API promises. */
const STATES_BY_STATUS: Record<JobStatus, QueueState[]> = {
  queued: ['waiting', 'delayed', 'prioritized', 'waiting-children'],
  // A split request's parent waits for its children while they run.
  running: ['active', 'waiting-children'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: ['failed'],
};

export function isFinalStatus(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/**
 * One job of the principal's tenant, with its result once completed.
 * @throws GlassboxError 404 for an unknown id or another tenant's job, 503 without Redis.
 */
export async function getJob(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<JobView> {
  let job = await findJob(ctx, principal, id);
  if (job) {
    const state = await withQueue(() => job!.getState());
    // The job may have finished between reading it and reading its state: read it again so
    // that attempts and finishedAt agree with the state.
    if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
      job = (await findJob(ctx, principal, id)) ?? job;
    }
    const view = viewJob(job, state, await readResult(ctx, job, state));
    const chunkCount = splitChunkCount(job);
    return chunkCount === null ? view : withChunks(ctx, view, chunkCount);
  }
  const removed = ID_PATTERN.test(id)
    ? await withQueue(() => readRemovedJob(ctx.redis, ctx.config.QUEUE_PREFIX, id))
    : null;
  if (removed && removed.tenant === principal.tenant) return viewRemovedJob(removed);
  throw jobNotFound(id);
}

function jobNotFound(id: string): GlassboxError {
  return new GlassboxError('GBX_ERR_JOB_NOT_FOUND', `no job with id ${id}`);
}

const listQuerySchema = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    type: z.string().min(1).max(64).optional(),
    modelId: z.string().min(1).max(64).optional(),
    first: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().min(1).max(200).optional(),
  })
  .strict();

export type JobListQuery = z.input<typeof listQuerySchema>;

/** One page of jobs, newest first; `nextCursor` is null on the last page. */
export interface JobPage {
  items: JobView[];
  nextCursor: string | null;
}

/**
 * Jobs matching the filters, newest first, `first` at a time after the cursor `after`.
 * Limitation: every kept job of the requested statuses is read from Redis to filter and sort,
 * because BullMQ keeps no index by model or creation time across states; jobs are kept for
 * seven days, which bounds the scan.
 * @throws GlassboxError 400 naming bad filters or a bad cursor, 503 without Redis.
 */
export async function listJobs(
  ctx: ServiceContext,
  principal: Principal,
  query: unknown,
): Promise<JobPage> {
  const parsed = listQuerySchema.safeParse(query ?? {});
  if (!parsed.success) {
    throw validationError(parsed.error.issues.flatMap(issueProblems));
  }
  const { status, type, modelId, first, after } = parsed.data;
  const cursor = after === undefined ? null : decodeCursor(after);

  const views = await withQueue(() => collectViews(ctx, principal.tenant, status));
  const matching = views
    .filter(
      (v) =>
        (status === undefined || v.status === status) && (type === undefined || v.type === type),
    )
    .filter((v) => modelId === undefined || v.modelId === modelId)
    .sort(newestFirst)
    .filter((v) => cursor === null || newestFirst(v, cursor) > 0);
  const items = matching.slice(0, first);
  const last = items[items.length - 1];

  return { items, nextCursor: matching.length > first && last ? jobCursor(last) : null };
}

/** Jobs of one tenant in the queue states behind a status (every status when undefined). */
async function collectViews(
  ctx: ServiceContext,
  tenant: string,
  status: JobStatus | undefined,
): Promise<JobView[]> {
  const states =
    status === undefined
      ? [...new Set(Object.values(STATES_BY_STATUS).flat())]
      : STATES_BY_STATUS[status];
  const views: JobView[] = [];
  for (const state of states) {
    for (const job of await ctx.queue.getJobs([state], 0, -1)) {
      if (!job || jobTenant(job) !== tenant) continue;
      const view = viewJob(job, state, undefined);
      const chunkCount = splitChunkCount(job);
      views.push(chunkCount === null ? view : await withChunks(ctx, view, chunkCount));
    }
  }
  if (status === undefined || status === 'cancelled') {
    const removed = await listRemovedJobs(ctx.redis, ctx.config.QUEUE_PREFIX);
    views.push(...removed.filter((r) => r.tenant === tenant).map(viewRemovedJob));
  }

  return views;
}

/** One problem per bad field; an unknown parameter is named by its own path. */
function issueProblems(issue: z.core.$ZodIssue): FieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'unknown' }));
  }
  return [{ path: issue.path.join('.'), message: issue.message }];
}

type CursorKey = Pick<JobView, 'createdAt' | 'id'>;

/** Orders newest first, ties broken by id, so that a cursor names one position exactly. */
function newestFirst(a: CursorKey, b: CursorKey): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The cursor that pages on from this job. */
export function jobCursor(view: CursorKey): string {
  return Buffer.from(JSON.stringify([view.createdAt, view.id])).toString('base64url');
}

function decodeCursor(text: string): CursorKey {
  try {
    const [createdAt, id] = JSON.parse(
      Buffer.from(text, 'base64url').toString('utf8'),
    ) as unknown[];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {
    // Reported below like any other malformed cursor.
  }
  throw validationError([{ path: 'after', message: 'not a cursor this service issued' }]);
}

/**
 * Cancels a job. A queued job is removed and reads as cancelled from then on; a running one
 * is flagged, stops at its next model batch and ends as cancelled.
 * @returns the job as it stands: `cancelled`, or still `running` until the worker sees the flag.
 * @throws GlassboxError 404 for an unknown id, 409 when the job has already finished.
 */
export async function cancelJob(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<JobView> {
  const current = await getJob(ctx, principal, id);
  if (current.status === 'cancelled') return current;
  if (current.status === 'completed' || current.status === 'failed') {
    throw new GlassboxError('GBX_ERR_JOB_FINISHED', `job ${id} has already ${current.status}`);
  }
  const prefix = ctx.config.QUEUE_PREFIX;
  await withQueue(() => requestCancellation(ctx.redis, prefix, id));
  if (current.status === 'queued') {
    const job = await findJob(ctx, principal, id);
    // A job that a worker took meanwhile is locked and cannot be removed; the flag stops it.
    const removed = job
      ? await job.remove().then(
          () => true,
          () => false,
        )
      : false;
    if (removed) {
      const record: CancelledJobRecord = {
        id,
        tenant: principal.tenant,
        type: current.type,
        modelId: current.modelId,
        createdAt: current.createdAt,
        cancelledAt: new Date().toISOString(),
      };
      await withQueue(() => recordRemovedJob(ctx.redis, prefix, record));
      return viewRemovedJob(record);
    }
  }

  return getJob(ctx, principal, id);
}

/**
 * Follows a job: yields its view whenever status or progress changes, and ends after the view
 * with a final status (completed, failed, cancelled).
 * Note: each watcher reads the job every `intervalMs`; a watcher that is closed stops reading.
 * @throws GlassboxError 404 from the first read for an unknown id.
 */
export function watchJob(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  intervalMs = 200,
): AsyncIterableIterator<JobView> {
  let lastSeen: string | undefined;
  let finished = false;
  const iterator: AsyncIterableIterator<JobView> = {
    async next(): Promise<IteratorResult<JobView>> {
      while (!finished) {
        const view = await getJob(ctx, principal, id);
        const seen = `${view.status}:${view.progress}`;
        if (seen !== lastSeen) {
          lastSeen = seen;
          finished = isFinalStatus(view.status);
          return { value: view, done: false };
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<JobView>> {
      finished = true;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };

  return iterator;
}

/**
 * The queue's job under an id, when it belongs to the principal's tenant; undefined otherwise.
 * Every job read, cancellation and watch goes through here (lists filter with `jobTenant`), so
 * that another tenant's job looks exactly like one that does not exist.
 */
async function findJob(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<AnyJob | undefined> {
  if (!ID_PATTERN.test(id)) return undefined;
  const job = await withQueue(() => ctx.queue.getJob(id));
  return job && jobTenant(job) === principal.tenant ? job : undefined;
}

async function readResult(
  ctx: ServiceContext,
  job: AnyJob,
  state: string,
): Promise<unknown | null> {
  return state === 'completed' ? ctx.results.read(job.id as string) : null;
}

/** A queue job as the API shows it; `result` undefined leaves it out (lists). */
function viewJob(job: AnyJob, state: string, result: unknown | null | undefined): JobView {
  const failure = state === 'failed' ? decodeFailure(job.failedReason) : null;
  const status = toStatus(state, failure);
  const data = job.data as { modelId?: unknown } | undefined;
  const view: JobView = {
    id: job.id as string,
    type: job.name,
    modelId: typeof data?.modelId === 'string' ? data.modelId : null,
    status,
    progress: status === 'completed' ? 1 : typeof job.progress === 'number' ? job.progress : 0,
    attempts: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt:
      job.finishedOn && status !== 'running' ? new Date(job.finishedOn).toISOString() : null,
    error: failure,
  };
  if (result !== undefined) view.result = result;

  return view;
}

function viewRemovedJob(record: CancelledJobRecord): JobView {
  return {
    id: record.id,
    type: record.type,
    modelId: record.modelId,
    status: 'cancelled',
    progress: 0,
    attempts: 0,
    createdAt: record.createdAt,
    startedAt: null,
    finishedAt: record.cancelledAt,
    result: null,
    error: { code: 'GBX_ERR_JOB_CANCELLED', message: 'cancelled before it started' },
  };
}

/** BullMQ states mapped onto the statuses the API promises. */
function toStatus(state: string, failure: JobFailure | null): JobStatus {
  if (state === 'active') return 'running';
  if (state === 'completed') return 'completed';
  if (state === 'failed') return failure?.code === 'GBX_ERR_JOB_CANCELLED' ? 'cancelled' : 'failed';
  return 'queued';
}

async function withQueue<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof GlassboxError ? err : queueUnavailable(err);
  }
}

export function queueUnavailable(err: unknown): GlassboxError {
  return new GlassboxError(
    'GBX_ERR_QUEUE_UNAVAILABLE',
    'the job queue (Redis) cannot be reached; try again shortly',
    [],
    { cause: err },
  );
}

/** Chunks of a split request, when the job is the parent of one. */
function splitChunkCount(job: AnyJob): number | null {
  const split = (job.data as { split?: { chunkCount?: unknown } } | null)?.split;
  return typeof split?.chunkCount === 'number' ? split.chunkCount : null;
}

/**
 * A split request's status: running once a chunk has started, and cancelled when it failed
 * through a chunk that saw the request's cancellation.
 */
function splitStatus(
  parent: JobStatus,
  chunkStarted: boolean,
  failure: JobFailure | null,
): JobStatus {
  if (parent === 'failed' && failure?.code === 'GBX_ERR_JOB_CANCELLED') return 'cancelled';
  return parent === 'queued' && chunkStarted ? 'running' : parent;
}

/**
 * A split request as its chunks show it: the parent waits for its chunks, so its progress and
 * failure are theirs until it merges them, and it started when its first chunk did.
 */
async function withChunks(
  ctx: ServiceContext,
  view: JobView,
  chunkCount: number,
): Promise<JobView> {
  const ids = chunkJobIds(view.id, chunkCount);
  const chunks = await withQueue(() => Promise.all(ids.map((id) => ctx.queue.getJob(id))));
  let done = 0;
  let startedAt: number | null = null;
  let failure: JobFailure | null = null;
  for (const chunk of chunks) {
    if (!chunk) continue;
    // A completed chunk holds a return value; a failed attempt's reason stays after a retry.
    const completed = Boolean(chunk.returnvalue);
    if (completed) done += 1;
    else if (typeof chunk.progress === 'number') done += chunk.progress;
    if (chunk.processedOn) startedAt = Math.min(startedAt ?? chunk.processedOn, chunk.processedOn);
    if (!completed && chunk.finishedOn && chunk.failedReason && !failure) {
      failure = decodeFailure(chunk.failedReason);
    }
  }
  const started = startedAt === null ? null : new Date(startedAt).toISOString();
  // The parent itself runs only to merge, after every chunk; chunks removed by retention leave
  // its own start.
  const requestStarted = started ?? view.startedAt;
  if (view.status === 'completed' || view.status === 'cancelled') {
    return { ...view, startedAt: requestStarted };
  }

  return {
    ...view,
    status: splitStatus(view.status, started !== null, failure),
    progress: Math.max(view.progress, Math.min(0.99, done / chunkCount)),
    startedAt: requestStarted,
    error: view.status === 'failed' && failure ? failure : view.error,
  };
}
