// Runs a queue worker inside the test process, on the test app's queue and stores.
import { createRedis } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/log/logger.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import type { TestApp } from './app.js';

export async function startTestWorker(
  t: TestApp,
): Promise<{ running: RunningWorker; stop(): Promise<void> }> {
  const connection = createRedis(t.config, true);
  const running = startWorker({
    config: t.config,
    logger: createLogger('silent'),
    connection,
    models: t.ctx.models,
    results: t.ctx.results,
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
