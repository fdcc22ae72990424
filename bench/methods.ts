// Cost of each explanation method relative to plain inference: the wall time of a job in the
// worker's compute (a compute thread running the model, its method thread running the method)
// divided by the time one batched predict takes over the same number of model rows.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { OPEN_PRINCIPAL, OPEN_TENANT } from '../src/auth/principal.js';
import { loadConfig } from '../src/config/index.js';
import type { ExplanationPayload } from '../src/jobs/queue.js';
import { createLogger } from '../src/log/logger.js';
import { loadModel, predictRows } from '../src/models/tf-model.js';
import type { ServiceContext } from '../src/services/context.js';
import { createModel } from '../src/services/models.js';
import { createComputePool, type ComputePool } from '../src/worker/compute-pool.js';
import {
  FIXTURES_DIR,
  fixtureData,
  modelFiles,
  REAL_MODELS_DIR,
} from '../test/helpers/fixtures.js';
import { storeFixtureModels, type FixtureStore } from '../test/helpers/model-store.js';
import { median } from './common.js';

export const BATCH_ROWS = 65_536;
/** Rounds of jobs then predicts; the median of the per-round ratios is reported. */
const ROUNDS = 3;
/** Back-to-back runs of each side in a round, as a busy worker runs its jobs. */
const RUNS_PER_ROUND = 5;

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

/** A plain batched predict over `rows` rows drawn in turn from `sample`, in this thread. */
async function plainPredictor(fixtures: FixtureStore, name: string, sample: number[][]) {
  const id = fixtures.ids[name];
  const record = (await fixtures.store.get(OPEN_TENANT, id))!;
  const model = await loadModel(await fixtures.store.readArtifacts(OPEN_TENANT, id));
  const background = sample;
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
 * Runs the job once to warm up, then ROUNDS rounds of RUNS_PER_ROUND jobs back to back followed
 * by as many plain predicts over as many rows. Each round gives one ratio of medians, so that
 * load from other processes, which drifts over seconds, falls on both sides of it alike; the runs
 * within a round follow each other as jobs do in a busy worker (a job right after a predict in
 * this thread would find the compute threads' caches cold).
 */
export async function measureJob(
  pool: ComputePool,
  fixtures: FixtureStore,
  name: string,
  payload: ExplanationPayload,
): Promise<{ modelRows: number; job: Timing; predict: Timing; ratio: number; cpuRatio: number }> {
  const warm = await pool.explain(payload, () => undefined);
  const modelRows = warm.result.modelEvaluations;
  const sample = payload.background.length > 0 ? payload.background : payload.instances;
  const plain = await plainPredictor(fixtures, name, sample);
  await plain.predict(modelRows);
  const jobs: Timing[] = [];
  const predicts: Timing[] = [];
  const ratios: { wall: number; cpu: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const roundJobs: Timing[] = [];
    const roundPredicts: Timing[] = [];
    for (let i = 0; i < RUNS_PER_ROUND; i++) {
      roundJobs.push(await timed(() => pool.explain(payload, () => undefined)));
    }
    for (let i = 0; i < RUNS_PER_ROUND; i++) {
      roundPredicts.push(await timed(() => plain.predict(modelRows)));
    }
    const job = medianTiming(roundJobs);
    const predict = medianTiming(roundPredicts);
    ratios.push({ wall: job.wallMs / predict.wallMs, cpu: job.cpuMs / predict.cpuMs });
    jobs.push(...roundJobs);
    predicts.push(...roundPredicts);
  }
  plain.dispose();
  return {
    modelRows,
    job: medianTiming(jobs),
    predict: medianTiming(predicts),
    ratio: median(ratios.map((r) => r.wall)),
    cpuRatio: median(ratios.map((r) => r.cpu)),
  };
}

function medianTiming(timings: Timing[]): Timing {
  return {
    wallMs: median(timings.map((t) => t.wallMs)),
    cpuMs: median(timings.map((t) => t.cpuMs)),
  };
}

interface MethodCase {
  fixture: string;
  setting: string;
  payload: (modelId: string) => ExplanationPayload;
}

interface BenchData {
  instances: number[][];
  background: number[][];
}

function request(
  modelId: string,
  fixture: string,
  method: ExplanationPayload['method'],
  instances: number,
  params: Partial<ExplanationPayload['params']> = {},
): ExplanationPayload {
  const data: BenchData = fixture === ABALONE ? abaloneBench() : fixtureData(fixture);
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
    setting: '20 instances, 100 bg, auto',
    payload: (id) => request(id, 'breast-cancer', 'kernel_shap', 20),
  },
  {
    fixture: 'breast-cancer',
    setting: '20 instances, 100 bg, auto',
    payload: (id) => request(id, 'breast-cancer', 'sampling_shap', 20),
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

/**
 * A published model larger than the fixtures' (Dense 8-50-50-1, about 3,000 multiply-adds a row
 * against about 500 for breast-cancer's), on its own data: methods whose own work does not grow
 * with the network cost less beside it.
 */
const ABALONE = 'abalone';
const ABALONE_DIR = path.join(REAL_MODELS_DIR, 'abalone-dense-layers');
const ABALONE_SEX_CODES: Record<string, number> = { F: 0, M: 1, I: 2 };

/** The abalone rows (sex coded F=0, M=1, I=2, as the model was trained) and their rings. */
function abaloneRows(): { rows: number[][]; rings: number[] } {
  const text = readFileSync(path.join(ABALONE_DIR, 'abalone.csv'), 'utf8');
  const [, ...lines] = text.trim().split('\n');
  const rows: number[][] = [];
  const rings: number[] = [];
  for (const line of lines) {
    const [sex, ...rest] = line.split(',');
    const values = rest.map(Number);
    rings.push(values.pop() as number);
    rows.push([ABALONE_SEX_CODES[sex], ...values]);
  }
  return { rows, rings };
}

/** Instances from the start of the data, background from the rows after them. */
function abaloneBench(): BenchData {
  const { rows } = abaloneRows();
  return { instances: rows.slice(0, 100), background: rows.slice(100) };
}

const ABALONE_CASES: MethodCase[] = [
  {
    fixture: ABALONE,
    setting: '20 instances, 100 bg, auto',
    payload: (id) => request(id, ABALONE, 'kernel_shap', 20),
  },
  {
    fixture: ABALONE,
    setting: '20 instances, 5000 samples, auto',
    payload: (id) =>
      request(id, ABALONE, 'lime', 20, {
        lime: { numSamples: 5000, featureSelection: 'auto', discretizer: 'none', categorical: [0] },
      }),
  },
  {
    fixture: ABALONE,
    setting: '4176 rows, 8 features, 20 repeats',
    payload: (id) => {
      const { rows, rings } = abaloneRows();
      const base = request(id, ABALONE, 'permutation_importance', 0);
      const permutation = { labels: rings, metric: 'mse' as const, nRepeats: 20 };
      return { ...base, instances: rows, params: { ...base.params, permutation } };
    },
  },
];

async function storeAbalone(fixtures: FixtureStore): Promise<void> {
  const files = modelFiles(ABALONE_DIR);
  const ctx = {
    models: fixtures.store,
    config: loadConfig({ STORE_DIR: fixtures.dir, TFJS_BACKEND: 'wasm' }),
  } as ServiceContext;
  const record = await createModel(ctx, OPEN_PRINCIPAL, {
    modelJsonText: files.modelJson,
    files: files.weights,
  });
  fixtures.ids[ABALONE] = record.id;
}

/** Runs every method as a job on the shared fixtures and returns the figures. */
export async function benchMethods(): Promise<MethodFigure[]> {
  const { fixtures, pool } = await startBenchCompute(['breast-cancer', 'wine']);
  await storeAbalone(fixtures);
  const figures: MethodFigure[] = [];
  try {
    for (const c of [...CASES, ...ABALONE_CASES]) {
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
