// The same explanation through the API, the queue and a worker process, against the compute
// alone in this process: what the service adds around the work.
import { createLocalCompute } from '../src/worker/compute.js';
import { storeFixtureModels } from '../test/helpers/model-store.js';
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

const INSTANCES = 8;

export async function benchEndToEnd(): Promise<Figure[]> {
  const fixtures = await storeFixtureModels(['breast-cancer']);
  const compute = createLocalCompute(fixtures.store, { batchRows: 65536, cacheBytes: 1 << 26 });
  const local = breastCancerPayload(fixtures.ids['breast-cancer'], INSTANCES);
  const bench = await benchEnv('e2e');
  const { service, baseUrl } = await startService('all', bench.env);
  try {
    const modelId = await uploadFixture(baseUrl, 'breast-cancer');
    const request = breastCancerRequest(modelId, INSTANCES);
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
        detail: `${INSTANCES} instances`,
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
