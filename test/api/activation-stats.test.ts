// Activation statistics through the API with an in-process worker on the same Redis queue.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { FIXTURES_DIR, fixtureData, fixtureOracle } from '../helpers/fixtures.js';
import { breastCancerGraphModel } from '../helpers/graph-model.js';
import { columnMoments } from '../helpers/stats.js';
import { pollJob } from '../helpers/jobs.js';
import { uploadFixtureModel, uploadModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

const BN = 'batch_normalization_BatchNormalization1';
const meta = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'wine-bn', 'meta.json'), 'utf8'));
const trainMean: number[] = meta.preprocessing.scaler_mean;
const trainStd: number[] = meta.preprocessing.scaler_scale;
const data = fixtureData('wine-bn');

let t: TestApp;
let worker: TestWorker;
let modelId: string;

beforeAll(async () => {
  t = await buildTestApp();
  const res = await uploadFixtureModel(t.app.server, 'wine-bn', {
    featureNames: data.featureNames,
  });
  modelId = res.body.id;
  worker = await startTestWorker(t);
});
afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

function submit(body: unknown) {
  return request(t.app.server)
    .post('/v1/activation-stats')
    .send(body as object);
}

describe('POST /v1/activation-stats', () => {
  it('runs a job whose BN drift matches the training statistics', async () => {
    const k = 4;
    const shifted = data.background.map((r) =>
      r.map((v, j) => (j === k ? v + 3 * trainStd[j] : v)),
    );
    const res = await submit({ modelId, samples: shifted, params: { histogramBins: 8 } });
    expect(res.status).toBe(202);
    expect(res.body.type).toBe('activation-stats');
    expect(res.headers.location).toBe(`/v1/jobs/${res.body.id}`);
    const job = await pollJob(t.app.server, res.headers.location);
    expect(job.status).toBe('completed');

    const result = job.result;
    expect(result.sampleCount).toBe(100);
    expect(result.layers.map((l: { name: string }) => l.name)).toEqual([
      BN,
      'dense_Dense1',
      'dense_Dense2',
    ]);
    expect(result.layers[1].histogram.counts).toHaveLength(8);
    const bn = result.layers[0].batchNorm;
    const oracle = columnMoments(shifted.map((r) => r.map(Math.fround)));
    for (let j = 0; j < trainMean.length; j++) {
      expect(bn.shift[j]).toBeCloseTo((oracle.mean[j] - trainMean[j]) / trainStd[j], 4);
      expect(bn.varianceRatio[j]).toBeCloseTo(oracle.variance[j] / trainStd[j] ** 2, 4);
    }
    expect(bn.summary).toMatchObject({
      drifted: true,
      channelsOverThreshold: 1,
      maxShiftChannel: k,
    });
    expect(result.batchNormSummary).toEqual({ layers: 1, drifted: [BN] });
  });

  it('accepts rows keyed by feature name and a layer list', async () => {
    const keyed = Object.fromEntries(data.featureNames.map((n, i) => [n, data.background[0][i]]));
    const res = await submit({
      modelId,
      samples: [keyed, data.background[1]],
      layers: ['dense_Dense2'],
    });
    expect(res.status).toBe(202);
    const job = await pollJob(t.app.server, res.headers.location);
    expect(job.result.layers.map((l: { name: string }) => l.name)).toEqual(['dense_Dense2']);
  });

  it('names every bad field and queues nothing', async () => {
    const before = await t.ctx.queue.count();
    const res = await submit({
      modelId,
      samples: [data.background[0].slice(1), [[1, 2]], 'x'],
      layers: ['dense_Dense1', 'no_such_layer'],
      params: { histogramBins: -1, driftThreshold: 0, extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
    const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['params', 'params.driftThreshold', 'params.histogramBins']);

    const shapes = await submit({
      modelId,
      samples: [data.background[0].slice(1), [[1, 2]], 'x'],
      layers: ['dense_Dense1', 'no_such_layer'],
    });
    expect(shapes.status).toBe(400);
    expect(shapes.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'layers.1',
      'samples.0',
      'samples.1',
      'samples.2',
    ]);
    expect(await t.ctx.queue.count()).toBe(before);
  });

  it('returns 404 for an unknown model', async () => {
    const res = await submit({ modelId: 'missing', samples: [data.background[0]] });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
  });
});

describe('GET /v1/models/:id/batch-norm', () => {
  it("returns the BN weights: moving statistics equal the training data's", async () => {
    const res = await request(t.app.server).get(`/v1/models/${modelId}/batch-norm`);
    expect(res.status).toBe(200);
    expect(res.body.layers).toHaveLength(1);
    const bn = res.body.layers[0];
    expect(bn).toMatchObject({ name: BN, channels: 13, axis: -1, zeroVarianceChannels: 0 });
    expect(bn.epsilon).toBeCloseTo(1e-3, 9);
    bn.movingMean.forEach((m: number, j: number) => expect(m / trainMean[j]).toBeCloseTo(1, 6));
    bn.movingVariance.forEach((v: number, j: number) =>
      expect((v + bn.epsilon) / trainStd[j] ** 2).toBeCloseTo(1, 5),
    );
    expect(bn.gamma).toHaveLength(13);
    expect(bn.beta).toHaveLength(13);
  });

  it('returns 404 for an unknown model', async () => {
    const res = await request(t.app.server).get('/v1/models/missing/batch-norm');
    expect(res.status).toBe(404);
  });
});

describe('activation statistics of a GraphModel', () => {
  it('reports its intermediate nodes and says it has no BN nodes', async () => {
    const uploaded = await uploadModel(t.app.server, breastCancerGraphModel());
    expect(uploaded.status).toBe(201);
    const instances = fixtureData('breast-cancer').instances;
    const res = await submit({ modelId: uploaded.body.id, samples: instances });
    expect(res.status).toBe(202);
    const job = await pollJob(t.app.server, res.headers.location);
    expect(job.status).toBe('completed');

    const names = job.result.layers.map((l: { name: string }) => l.name);
    expect(names).toEqual([
      'hidden/MatMul',
      'hidden/BiasAdd',
      'hidden/Relu',
      'output/MatMul',
      'output/BiasAdd',
      'output/Sigmoid',
    ]);
    // The fixture's NumPy reference outputs for the same instances.
    const reference = fixtureOracle('breast-cancer', 'kernel-shap-reference.json').outputs;
    const meanOutput = reference.reduce((s, o) => s + o[0], 0) / reference.length;
    expect(job.result.layers[5].mean[0]).toBeCloseTo(meanOutput, 6);
    expect(job.result.layers[5].className).toBe('Sigmoid');
    expect(job.result.notes.join(' ')).toMatch(/no batch-normalization nodes/);

    const constant = await submit({
      modelId: uploaded.body.id,
      samples: instances,
      layers: ['hidden/kernel'],
    });
    expect(constant.status).toBe(400);
    expect(constant.body.errors[0].path).toBe('layers.0');

    const bn = await request(t.app.server).get(`/v1/models/${uploaded.body.id}/batch-norm`);
    expect(bn.status).toBe(200);
    expect(bn.body.layers).toEqual([]);
    expect(bn.body.notes.join(' ')).toMatch(/no batch-normalization nodes/);
  });
});
