// Memory over rounds of 500 jobs in one worker: process RSS and the compute thread's tensor count
// before and after each round (target: flat). Growth in the first round that stops in the next
// ones is the heap settling; growth in every round is a leak.
import { OPEN_TENANT } from '../src/auth/principal.js';
import { JOB_NAMES } from '../src/jobs/queue.js';
import { fixtureData } from '../test/helpers/fixtures.js';
import { startInProcessWorker, type Figure } from './common.js';

const JOBS_PER_ROUND = 500;
const ROUNDS = 3;
const WARM_UP_JOBS = 20;

export async function benchMemory(): Promise<Figure[]> {
  const { fixtures, worker, queue, events, close } = await startInProcessWorker(
    'memory',
    ['wine', 'breast-cancer'],
    {},
    'error',
  );

  // Small jobs on two models, alternating, so that the cache and both paths are exercised.
  const payloadFor = (i: number) => {
    const name = i % 2 ? 'wine' : 'breast-cancer';
    const data = fixtureData(name);
    return {
      tenant: OPEN_TENANT,
      modelId: fixtures.ids[name],
      method: 'kernel_shap' as const,
      instances: data.instances.slice(i % 10, (i % 10) + 2),
      background: data.background.slice(0, 10),
      params: {
        nsamples: 64,
        link: 'identity' as const,
        seed: i,
        outputs: 'all' as const,
        l1Features: null,
      },
    };
  };
  const runJobs = async (count: number, offset: number) => {
    const jobs = await queue.addBulk(
      Array.from({ length: count }, (_, i) => ({
        name: JOB_NAMES.EXPLANATION,
        data: payloadFor(offset + i),
      })),
    );
    for (const job of jobs) await job.waitUntilFinished(events);
  };

  try {
    await runJobs(WARM_UP_JOBS, 0);
    const mib = (bytes: number) => bytes / 2 ** 20;
    const [threadBefore] = await worker.compute.memory();
    const figures: Figure[] = [
      {
        name: 'RSS before',
        value: mib(process.memoryUsage().rss),
        unit: 'MiB',
        detail: `after ${WARM_UP_JOBS} warm-up jobs`,
      },
      { name: 'tensors before', value: threadBefore.numTensors, unit: '' },
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      await runJobs(JOBS_PER_ROUND, WARM_UP_JOBS + (round - 1) * JOBS_PER_ROUND);
      const [thread] = await worker.compute.memory();
      const jobs = round * JOBS_PER_ROUND;
      figures.push(
        { name: `RSS after ${jobs} jobs`, value: mib(process.memoryUsage().rss), unit: 'MiB' },
        { name: `tensors after ${jobs} jobs`, value: thread.numTensors, unit: '', target: 'equal' },
      );
      if (round === ROUNDS) {
        figures.push({ name: 'tensor bytes after', value: mib(thread.numBytes), unit: 'MiB' });
      }
    }
    return figures;
  } finally {
    await close();
  }
}
