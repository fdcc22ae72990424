// Event-loop delay in a worker's main thread while it runs a heavy KernelSHAP job, with the
// compute in the main thread (COMPUTE_THREADS=off) and in a compute thread (on). The main
// thread renews job locks, writes progress and answers health checks: delay there is what
// makes locks lapse.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { QueueEvents } from 'bullmq';
import { loadConfig } from '../src/config/index.js';
import { createJobQueue, createRedis, JOB_NAMES } from '../src/jobs/queue.js';
import { ResultStore } from '../src/jobs/result-store.js';
import { createLogger } from '../src/log/logger.js';
import { startWorker } from '../src/worker/worker.js';
import { storeFixtureModels } from '../test/helpers/model-store.js';
import { benchEnv, breastCancerPayload, median, type Figure } from './common.js';

const INSTANCES = 6;

interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  jobMs: number;
}

async function measure(mode: 'on' | 'off'): Promise<LoopDelay> {
  const fixtures = await storeFixtureModels(['breast-cancer']);
  const bench = await benchEnv(`loop-${mode}`, { STORE_DIR: fixtures.dir, COMPUTE_THREADS: mode });
  const config = loadConfig(bench.env);
  const results = new ResultStore(config.storeDir);
  await results.init();
  const connection = createRedis(config, true);
  const producer = createRedis(config, false);
  const queue = createJobQueue(config, producer);
  const events = new QueueEvents('jobs', {
    connection: createRedis(config, true),
    prefix: config.QUEUE_PREFIX,
  });
  const worker = startWorker({
    config,
    logger: createLogger('silent'),
    connection,
    models: fixtures.store,
    results,
  });
  try {
    await worker.ready;
    await events.waitUntilReady();
    const id = fixtures.ids['breast-cancer'];
    const run = async (instances: number) => {
      const job = await queue.add(JOB_NAMES.EXPLANATION, breastCancerPayload(id, instances));
      await job.waitUntilFinished(events);
    };
    await run(1);

    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const started = performance.now();
    await run(INSTANCES);
    const jobMs = performance.now() - started;
    histogram.disable();
    return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, jobMs };
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await Promise.all([connection.quit(), producer.quit()]);
    await fixtures.remove();
    await bench.remove();
  }
}

export async function benchEventLoop(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const mode of ['off', 'on'] as const) {
    const runs: LoopDelay[] = [];
    for (let i = 0; i < 3; i++) runs.push(await measure(mode));
    const where = mode === 'off' ? 'compute in main thread' : 'compute in worker thread';
    const job = median(runs.map((r) => r.jobMs));
    figures.push(
      {
        name: `${where}: max event-loop delay`,
        value: median(runs.map((r) => r.maxMs)),
        unit: 'ms',
      },
      {
        name: `${where}: p99 event-loop delay`,
        value: median(runs.map((r) => r.p99Ms)),
        unit: 'ms',
      },
      { name: `${where}: job`, value: job, unit: 'ms', detail: `${INSTANCES} instances` },
    );
  }
  return figures;
}
