// Large explanation requests split into chunk jobs under one parent job (a BullMQ flow), so that
// several workers share one request and a failed chunk is retried alone.
import { FlowProducer, type FlowJob, type Queue } from 'bullmq';
import type { Config } from '../config/index.js';
import {
  chunkJobId,
  JOB_NAMES,
  jobOptions,
  QUEUE_NAME,
  type ExplanationPayload,
  type RedisClient,
} from './queue.js';

const producers = new WeakMap<Queue, FlowProducer>();

/** The flow producer sharing a queue's Redis connection and key prefix. */
export function flowProducerFor(queue: Queue): FlowProducer {
  let producer = producers.get(queue);
  if (!producer) {
    producer = new FlowProducer({ connection: queue.opts.connection, prefix: queue.opts.prefix });
    producers.set(queue, producer);
  }
  return producer;
}

/** Methods whose instances are independent, each seeded by its place in the request. */
const SPLITTABLE_METHODS = new Set(['kernel_shap', 'exact_shap', 'sampling_shap', 'lime']);

/**
 * Whether a request is split: a per-instance method with more instances than one chunk holds.
 * permutation_importance always runs whole: its score is taken over every row at once.
 */
export function needsSplit(config: Config, payload: ExplanationPayload): boolean {
  return (
    SPLITTABLE_METHODS.has(payload.method) && payload.instances.length > config.CHUNK_INSTANCES
  );
}

/**
 * A parent job that merges the results of its children, one per run of CHUNK_INSTANCES
 * instances. The parent carries no rows; each child carries its instances, the background and
 * its offset in the request, from which its instances' seeds are derived. A child that fails
 * every attempt fails the parent.
 */
export function explanationFlow(
  config: Config,
  parentId: string,
  payload: ExplanationPayload,
): FlowJob {
  const size = config.CHUNK_INSTANCES;
  const chunkCount = Math.ceil(payload.instances.length / size);
  const children: FlowJob[] = [];
  for (let index = 0; index < chunkCount; index++) {
    const firstInstance = index * size;
    children.push({
      name: JOB_NAMES.EXPLANATION_CHUNK,
      queueName: QUEUE_NAME,
      data: {
        ...payload,
        instances: payload.instances.slice(firstInstance, firstInstance + size),
        chunk: { index, firstInstance },
      } satisfies ExplanationPayload,
      opts: { ...jobOptions(config, chunkJobId(parentId, index)), failParentOnFailure: true },
    });
  }
  return {
    name: JOB_NAMES.EXPLANATION,
    queueName: QUEUE_NAME,
    data: {
      ...payload,
      instances: [],
      background: [],
      split: { chunkCount, instanceCount: payload.instances.length },
    } satisfies ExplanationPayload,
    opts: jobOptions(config, parentId),
    children,
  };
}

/** How long the mark that a split request's end was recorded is kept, in seconds. */
const REQUEST_END_MARK_TTL_S = 7 * 24 * 3600;

/**
 * Marks a split request as ended (failed or cancelled through one of its chunks).
 * @returns true for the first call per request, false for every later one.
 */
export async function markSplitRequestEnded(
  redis: RedisClient,
  prefix: string,
  parentId: string,
  state: 'cancelled' | 'failed',
): Promise<boolean> {
  const key = `${prefix}:${QUEUE_NAME}:ended:${parentId}`;
  return (await redis.set(key, state, 'EX', REQUEST_END_MARK_TTL_S, 'NX')) === 'OK';
}
