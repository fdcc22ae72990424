// Cost of each explanation method relative to plain inference: the wall time of a job in the
// worker's compute (a compute thread running the model, its method thread running the method)
// divided by the time one batched predict takes over the same number of model rows.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { OPEN_TENANT } from '../src/auth/principal.js';
import type { ExplanationPayload } from '../src/jobs/queue.js';
import { createLogger } from '../src/log/logger.js';
import { loadModel, predictRows } from '../src/models/tf-model.js';
import { createComputePool, type ComputePool } from '../src/worker/compute-pool.js';
import { FIXTURES_DIR, fixtureData } from '../test/helpers/fixtures.js';
import { storeFixtureModels, type FixtureStore } from '../test/helpers/model-store.js';
import { median } from './common.js';

export const BATCH_ROWS = 65_536;
/** Job and predict alternate this many times; the median of the per-pair ratios is reported. */
const PAIRS = 5;

export interface MethodFigure {
  method: string;
  fixture: string;
  setting: string;
  modelRows: number;
  methodMs: number;
  predictMs: number;
  ratio: number;
  cpuRatio: number;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Wall and process CPU time of `fn`; CPU time counts every thread of the process. */
export async function timed(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

/** One compute thread, as a worker with concurrency 1 runs, over the stored fixture models. */
export async function startBenchCompute(
  names: string[],
): Promise<{ fixtures: FixtureStore; pool: ComputePool }> {
  const fixtures = await storeFixtureModels(names);
  const pool = createComputePool({
    size: 1,
    backend: 'auto',
    storeDir: fixtures.dir,
    batchRows: BATCH_ROWS,
    cacheBytes: 1 << 28,
    logger: createLogger('silent'),
  });
  await pool.ready;
  return { fixtures, pool };
}

/** A plain batched predict over `rows` rows of the fixture's background, in this thread. */
async function plainPredictor(fixtures: FixtureStore, name: string) {
  const id = fixtures.ids[name];
  const record = (await fixtures.store.get(OPEN_TENANT, id))!;
  const model = await loadModel(await fixtures.store.readArtifacts(OPEN_TENANT, id));
  const background = fixtureData(name).background;
  const width = background[0].length;
  const data = new Float32Array(BATCH_ROWS * width);
  for (let r = 0; r < BATCH_ROWS; r++) data.set(background[r % background.length], r * width);
  const predict = async (rows: number) => {
    for (let done = 0; done < rows; done += BATCH_ROWS) {
      const count = Math.min(BATCH_ROWS, rows - done);
      await predictRows(model, record.inputs[0].shape, data.subarray(0, count * width), count);
    }
  };
  return { predict, dispose: () => model.dispose() };
}

/**
 * Runs the job once to warm up, then PAIRS times alternating with a plain predict over as many
 * rows, so that load from other processes falls on both sides alike.
 */
export async function measureJob(
  pool: ComputePool,
  fixtures: FixtureStore,
  name: string,
  payload: ExplanationPayload,
): Promise<{ modelRows: number; job: Timing; predict: Timing; ratio: number; cpuRatio: number }> {
  const warm = await pool.explain(payload, () => undefined);
  const modelRows = warm.result.modelEvaluations;
  const plain = await plainPredictor(fixtures, name);
  await plain.predict(modelRows);
  const pairs: { job: Timing; predict: Timing }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const job = await timed(() => pool.explain(payload, () => undefined));
    pairs.push({ job, predict: await timed(() => plain.predict(modelRows)) });
  }
  plain.dispose();
  const middle = (pick: (p: { job: Timing; predict: Timing }) => number) =>
    median(pairs.map(pick));
  return {
    modelRows,
    job: { wallMs: middle((p) => p.job.wallMs), cpuMs: middle((p) => p.job.cpuMs) },
    predict: { wallMs: middle((p) => p.predict.wallMs), cpuMs: middle((p) => p.predict.cpuMs) },
    ratio: middle((p) => p.job.wallMs / p.predict.wallMs),
    cpuRatio: middle((p) => p.job.cpuMs / p.predict.cpuMs),
  };
}

interface MethodCase {
  fixture: string;
  setting: string;
  payload: (modelId: string) => ExplanationPayload;
}

function request(
  modelId: string,
  fixture: string,
  method: ExplanationPayload['method'],
  instances: number,
  params: Partial<ExplanationPayload['params']> = {},
): ExplanationPayload {
  const data = fixtureData(fixture);
  return {
    tenant: OPEN_TENANT,
    modelId,
    method,
    instances: data.instances.slice(0, instances),
    background: data.background.slice(0, 100),
    params: {
      nsamples: 'auto',
      link: 'identity',
      seed: 1,
      outputs: 'all',
      l1Features: null,
      ...params,
    },
  };
}

const CASES: MethodCase[] = [
  {
    fixture: 'breast-cancer',
    setting: '5 instances, 100 bg, auto',
    payload: (id) => request(id, 'breast-cancer', 'kernel_shap', 5),
  },
  {
    fixture: 'breast-cancer',
    setting: '5 instances, 100 bg, auto',
    payload: (id) => request(id, 'breast-cancer', 'sampling_shap', 5),
  },
  {
    fixture: 'wine',
    setting: '2 instances, 100 bg',
    payload: (id) => request(id, 'wine', 'exact_shap', 2),
  },
  {
    fixture: 'breast-cancer',
    setting: '20 instances, 5000 samples, auto',
    payload: (id) =>
      request(id, 'breast-cancer', 'lime', 20, {
        lime: { numSamples: 5000, featureSelection: 'auto', discretizer: 'none', categorical: [] },
      }),
  },
  {
    fixture: 'breast-cancer',
    setting: '100 rows, 30 features, 20 repeats',
    payload: (id) => {
      const { background, backgroundLabels } = JSON.parse(
        readFileSync(path.join(FIXTURES_DIR, 'breast-cancer', 'data.json'), 'utf8'),
      ) as { background: number[][]; backgroundLabels: number[] };
      const base = request(id, 'breast-cancer', 'permutation_importance', 0);
      const permutation = { labels: backgroundLabels, metric: 'log_loss' as const, nRepeats: 20 };
      return { ...base, instances: background, params: { ...base.params, permutation } };
    },
  },
];

/** Runs every method as a job on the shared fixtures and returns the figures. */
export async function benchMethods(): Promise<MethodFigure[]> {
  const { fixtures, pool } = await startBenchCompute(['breast-cancer', 'wine']);
  const figures: MethodFigure[] = [];
  try {
    for (const c of CASES) {
      const payload = c.payload(fixtures.ids[c.fixture]);
      const m = await measureJob(pool, fixtures, c.fixture, payload);
      figures.push({
        method: payload.method,
        fixture: c.fixture,
        setting: c.setting,
        modelRows: m.modelRows,
        methodMs: m.job.wallMs,
        predictMs: m.predict.wallMs,
        ratio: m.ratio,
        cpuRatio: m.cpuRatio,
      });
    }
  } finally {
    await pool.close();
    await fixtures.remove();
  }
  return figures;
}

/** The figures as a Markdown table. */
export function formatFigures(figures: MethodFigure[]): string {
  const lines = [
    '| method | fixture | setting | model rows | job ms | predict ms | wall ratio | CPU ratio |',
    '|---|---|---|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.method} | ${f.fixture} | ${f.setting} | ${f.modelRows} | ` +
        `${f.methodMs.toFixed(0)} | ${f.predictMs.toFixed(0)} | ${f.ratio.toFixed(2)} | ` +
        `${f.cpuRatio.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}
