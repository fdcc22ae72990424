// What the service functions share: configuration, stores and the queue.
import type { Queue } from 'bullmq';
import type { Config } from '../config/index.js';
import type { RedisClient } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/result-store.js';
import type { ModelStore } from '../models/store.js';

export interface ServiceContext {
  config: Config;
  models: ModelStore;
  results: ResultStore;
  queue: Queue;
  /** The connection the queue uses, for health checks. */
  redis: RedisClient;
}
