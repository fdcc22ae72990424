// KernelSHAP job time against the time of plain batched prediction over as many rows: the share
// of a job that is not model evaluation.
import { loadConfig } from '../src/config/index.js';
import { loadModel, predictRows } from '../src/models/tf-model.js';
import { createLocalCompute } from '../src/worker/compute.js';
import { storeFixtureModels } from '../test/helpers/model-store.js';
import { performance } from 'node:perf_hooks';
import { breastCancerPayload, median, type Figure } from './common.js';

const INSTANCES = 4;
const PAIRS = 5;

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function sample(fn: () => Promise<unknown>): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

export async function benchKernelShap(): Promise<Figure[]> {
  const batchRows = loadConfig({}).BATCH_ROWS;
  const fixtures = await storeFixtureModels(['breast-cancer']);
  const id = fixtures.ids['breast-cancer'];
  const compute = createLocalCompute(fixtures.store, { batchRows, cacheBytes: 1 << 26 });
  const payload = breastCancerPayload(id, INSTANCES);
  try {
    const warm = await compute.explain(payload, () => undefined);
    const rows = warm.result.modelEvaluations;
    const model = await loadModel(await fixtures.store.readArtifacts(payload.tenant, id));
    const record = await fixtures.store.get(payload.tenant, id);
    const width = 30;
    const data = new Float32Array(batchRows * width).map((_, i) => Math.sin(i) * 2);
    const predictAll = async () => {
      for (let start = 0; start < rows; start += batchRows) {
        const count = Math.min(batchRows, rows - start);
        await predictRows(model, record!.inputs[0].shape, data.subarray(0, count * width), count);
      }
    };
    await predictAll();

    // Job and prediction alternate, and each pair gives one ratio, so that load from other
    // processes on a shared machine falls on both sides alike. CPU time is reported beside wall
    // time: it is what the job itself spends, whatever else runs.
    const pairs: { job: Sample; predict: Sample }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      pairs.push({
        job: await sample(() => compute.explain(payload, () => undefined)),
        predict: await sample(predictAll),
      });
    }
    model.dispose();

    const wallRatio = median(pairs.map((p) => p.job.wallMs / p.predict.wallMs));
    const cpuRatio = median(pairs.map((p) => p.job.cpuMs / p.predict.cpuMs));
    return [
      {
        name: 'job wall time',
        value: median(pairs.map((p) => p.job.wallMs)),
        unit: 'ms',
        detail: `${INSTANCES} instances, ${rows} model rows`,
      },
      {
        name: 'plain batched predict, same rows',
        value: median(pairs.map((p) => p.predict.wallMs)),
        unit: 'ms',
      },
      { name: 'job / predict, wall time', value: wallRatio, unit: '×', target: '<= 1.3' },
      { name: 'job / predict, CPU time', value: cpuRatio, unit: '×', target: '<= 1.3' },
    ];
  } finally {
    await compute.close();
    await fixtures.remove();
  }
}
