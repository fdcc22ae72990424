// KernelSHAP job time against the time of plain batched prediction over as many rows: the share
// of a job that is not model evaluation. The job runs as a worker runs it: in a compute thread
// that holds the model, with the method in that thread's method thread.
import { breastCancerPayload, type Figure } from './common.js';
import { measureJob, startBenchCompute } from './methods.js';

/** A dashboard's page of rows (the target's size), and a small request beside it. */
const REQUEST_SIZES = [20, 4];

export async function benchKernelShap(): Promise<Figure[]> {
  const { fixtures, pool } = await startBenchCompute(['breast-cancer']);
  const figures: Figure[] = [];
  try {
    for (const instances of REQUEST_SIZES) {
      const payload = breastCancerPayload(fixtures.ids['breast-cancer'], instances);
      const m = await measureJob(pool, fixtures, 'breast-cancer', payload);
      const size = `${instances} instances`;
      figures.push(
        {
          name: `${size}: job wall time`,
          value: m.job.wallMs,
          unit: 'ms',
          detail: `${m.modelRows} model rows`,
        },
        { name: `${size}: plain batched predict, same rows`, value: m.predict.wallMs, unit: 'ms' },
        {
          name: `${size}: job / predict, wall time`,
          value: m.ratio,
          unit: '×',
          target: instances === REQUEST_SIZES[0] ? '<= 1.3' : undefined,
        },
        {
          name: `${size}: job / predict, CPU time (all threads)`,
          value: m.cpuRatio,
          unit: '×',
          detail: 'the method thread works beside the model',
        },
      );
    }
    return figures;
  } finally {
    await pool.close();
    await fixtures.remove();
  }
}
