// Runs a queue worker inside the test process, on the test app's queue and stores.
import { createRedis } from '../../src/jobs/queue.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import type { Metrics } from '../../src/ops/metrics.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import type { TestApp } from './app.js';

/** A worker started by {@link startTestWorker}. */
export interface TestWorker {
  running: RunningWorker;
  /** Closes the worker, then its Redis connection. */
  stop(): Promise<void>;
}

export interface TestWorkerOptions {
  /** Logger of the worker; silent when absent. */
  logger?: Logger;
  /** Metrics registry it counts in, such as the app's; its own when absent. */
  metrics?: Metrics;
}

/** Starts a worker on its own Redis connection and waits until it takes jobs. */
export async function startTestWorker(
  t: TestApp,
  options: TestWorkerOptions = {},
): Promise<TestWorker> {
  const connection = createRedis(t.config, true);
  const running = startWorker({
    config: t.config,
    logger: options.logger ?? createLogger('silent'),
    connection,
    models: t.ctx.models,
    results: t.ctx.results,
    metrics: options.metrics,
  });
  await running.worker.waitUntilReady();
  return {
    running,
    stop: async () => {
      await running.close();
      await connection.quit();
    },
  };
}
