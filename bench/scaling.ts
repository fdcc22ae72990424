// One split request on one worker process and on two: the speed-up chunk jobs give.
import {
  benchEnv,
  breastCancerRequest,
  explainOverHttp,
  median,
  REPEATS,
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
  return {
    baseUrl,
    modelId,
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
    const pairs: { one: number; two: number }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const t1 = await timeMs(() =>
        explainOverHttp(one.baseUrl, breastCancerRequest(one.modelId, INSTANCES, 1, NSAMPLES)),
      );
      const t2 = await timeMs(() =>
        explainOverHttp(two.baseUrl, breastCancerRequest(two.modelId, INSTANCES, 1, NSAMPLES)),
      );
      pairs.push({ one: t1, two: t2 });
    }
    const detail = `${INSTANCES} instances in chunks of ${CHUNK_INSTANCES}, nsamples ${NSAMPLES}`;
    return [
      { name: '1 worker process', value: median(pairs.map((p) => p.one)), unit: 'ms', detail },
      { name: '2 worker processes', value: median(pairs.map((p) => p.two)), unit: 'ms' },
      {
        name: 'speed-up',
        value: median(pairs.map((p) => p.one / p.two)),
        unit: '×',
        detail: 'at most 2 on 2 cores',
      },
    ];
  } finally {
    await Promise.all([one.stop(), two.stop()]);
  }
}
