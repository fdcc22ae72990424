// Event-loop delay in a worker's main thread while it runs a heavy KernelSHAP job, with the
// compute in the main thread (COMPUTE_THREADS=off) and in a compute thread (on). The main
// thread renews job locks, writes progress and answers health checks: delay there is what
// makes locks lapse.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { JOB_NAMES } from '../src/jobs/queue.js';
import { breastCancerPayload, median, startInProcessWorker, type Figure } from './common.js';

const INSTANCES = 6;

interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  jobMs: number;
}

async function measure(mode: 'on' | 'off'): Promise<LoopDelay> {
  const { fixtures, queue, events, close } = await startInProcessWorker(
    `loop-${mode}`,
    ['breast-cancer'],
    { COMPUTE_THREADS: mode },
  );
  try {
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
    await close();
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
