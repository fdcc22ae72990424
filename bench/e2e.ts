// The same explanation through the API, the queue and a worker process, against the same compute
// (a compute thread and its method thread) in this process: what the service adds around the work.
import {
  benchEnv,
  breastCancerPayload,
  breastCancerRequest,
  explainOverHttp,
  median,
  REPEATS,
  startService,
  timeMs,
  uploadFixture,
  type Figure,
} from './common.js';
import { startBenchCompute } from './methods.js';

/** Every breast-cancer instance at 12,000 coalitions: a job of over a second here. */
const INSTANCES = 20;
const NSAMPLES = 12_000;

export async function benchEndToEnd(): Promise<Figure[]> {
  const { fixtures, pool: compute } = await startBenchCompute(['breast-cancer']);
  const local = breastCancerPayload(fixtures.ids['breast-cancer'], INSTANCES, 1, NSAMPLES);
  const bench = await benchEnv('e2e');
  const { service, baseUrl } = await startService('all', bench.env);
  try {
    const modelId = await uploadFixture(baseUrl, 'breast-cancer');
    const request = breastCancerRequest(modelId, INSTANCES, 1, NSAMPLES);
    await compute.explain(local, () => undefined);
    await explainOverHttp(baseUrl, request);

    // Alternate the two so that load from elsewhere on the machine falls on both alike.
    const pairs: { inProcess: number; endToEnd: number }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const inProcess = await timeMs(() => compute.explain(local, () => undefined));
      const endToEnd = await timeMs(() => explainOverHttp(baseUrl, request));
      pairs.push({ inProcess, endToEnd });
    }
    return [
      {
        name: 'in-process compute',
        value: median(pairs.map((p) => p.inProcess)),
        unit: 'ms',
        detail: `${INSTANCES} instances, nsamples ${NSAMPLES}`,
      },
      {
        name: 'through API, queue and worker (submit to seen completed)',
        value: median(pairs.map((p) => p.endToEnd)),
        unit: 'ms',
      },
      {
        name: 'end-to-end / in-process',
        value: median(pairs.map((p) => p.endToEnd / p.inProcess)),
        unit: '×',
        target: '<= 1.2 for jobs over 1 s',
      },
    ];
  } finally {
    await service.stop();
    await compute.close();
    await fixtures.remove();
    await bench.remove();
  }
}
