// KernelSHAP job time against the time of plain batched prediction over as many rows: the share
// of a job that is not model evaluation. The job runs as a worker runs it: in a compute thread
// that holds the model, with the method in that thread's method thread.
import { breastCancerPayload, type Figure } from './common.js';
import { measureJob, startBenchCompute } from './methods.js';

const INSTANCES = 4;

export async function benchKernelShap(): Promise<Figure[]> {
  const { fixtures, pool } = await startBenchCompute(['breast-cancer']);
  try {
    const payload = breastCancerPayload(fixtures.ids['breast-cancer'], INSTANCES);
    const m = await measureJob(pool, fixtures, 'breast-cancer', payload);
    return [
      {
        name: 'job wall time',
        value: m.job.wallMs,
        unit: 'ms',
        detail: `${INSTANCES} instances, ${m.modelRows} model rows`,
      },
      { name: 'plain batched predict, same rows', value: m.predict.wallMs, unit: 'ms' },
      { name: 'job / predict, wall time', value: m.ratio, unit: '×', target: '<= 1.3' },
      {
        name: 'job / predict, CPU time (all threads)',
        value: m.cpuRatio,
        unit: '×',
        detail: 'the method thread works beside the model',
      },
    ];
  } finally {
    await pool.close();
    await fixtures.remove();
  }
}
