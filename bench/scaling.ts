// One split request on one worker process and on two: the speed-up chunk jobs give.
import os from 'node:os';
import {
  benchEnv,
  breastCancerRequest,
  explainOverHttp,
  median,
  processCpuMs,
  REPEATS,
  round,
  startService,
  timeMs,
  uploadFixture,
  type Figure,
} from './common.js';

const INSTANCES = 20;
const CHUNK_INSTANCES = 5;
const NSAMPLES = 5000;

interface Deployment {
  baseUrl: string;
  modelId: string;
  /** CPU time used so far by the worker processes together, or null without /proc. */
  workerCpuMs(): number | null;
  stop(): Promise<void>;
}

/** An API and `workers` worker processes on a queue of their own. */
async function deploy(workers: number): Promise<Deployment> {
  const bench = await benchEnv(`scale-${workers}`, { CHUNK_INSTANCES: String(CHUNK_INSTANCES) });
  const { service: api, baseUrl } = await startService('api', bench.env);
  const started = await Promise.all(
    Array.from({ length: workers }, () => startService('worker', bench.env)),
  );
  const modelId = await uploadFixture(baseUrl, 'breast-cancer');
  // Warm every worker: one chunk each loads the model into its thread.
  await explainOverHttp(baseUrl, breastCancerRequest(modelId, CHUNK_INSTANCES * workers * 2));
  const pids = started.map((s) => s.service.child.pid!);
  return {
    baseUrl,
    modelId,
    workerCpuMs: () => {
      const times = pids.map(processCpuMs);
      return times.includes(null) ? null : (times as number[]).reduce((a, b) => a + b, 0);
    },
    stop: async () => {
      await Promise.all([api.stop(), ...started.map((s) => s.service.stop())]);
      await bench.remove();
    },
  };
}

export async function benchScaling(): Promise<Figure[]> {
  const one = await deploy(1);
  const two = await deploy(2);
  try {
    // Both deployments stay up, idle in turn, and requests alternate between them.
    const pairs: { one: number; two: number; cores: number | null }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const cpuBefore = one.workerCpuMs();
      const t1 = await timeMs(() =>
        explainOverHttp(one.baseUrl, breastCancerRequest(one.modelId, INSTANCES, 1, NSAMPLES)),
      );
      const cpuAfter = one.workerCpuMs();
      const t2 = await timeMs(() =>
        explainOverHttp(two.baseUrl, breastCancerRequest(two.modelId, INSTANCES, 1, NSAMPLES)),
      );
      const cores = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / t1;
      pairs.push({ one: t1, two: t2, cores });
    }
    const cores = pairs.every((p) => p.cores !== null)
      ? median(pairs.map((p) => p.cores as number))
      : null;
    const detail = `${INSTANCES} instances in chunks of ${CHUNK_INSTANCES}, nsamples ${NSAMPLES}`;
    return [
      { name: '1 worker process', value: median(pairs.map((p) => p.one)), unit: 'ms', detail },
      { name: '2 worker processes', value: median(pairs.map((p) => p.two)), unit: 'ms' },
      {
        name: 'speed-up',
        value: median(pairs.map((p) => p.one / p.two)),
        unit: '×',
        detail: `at most ${os.cpus().length} on ${os.cpus().length} cores`,
      },
      ...(cores === null
        ? []
        : [
            {
              name: 'cores one worker process keeps busy',
              value: cores,
              unit: 'cores',
              detail: `its model and method threads; a second worker can add at most ${round(
                os.cpus().length / cores,
              )}×`,
            },
          ]),
    ];
  } finally {
    await Promise.all([one.stop(), two.stop()]);
  }
}
