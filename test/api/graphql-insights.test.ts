// GraphQL beyond SHAP: datasets, activation statistics, LIME and permutation importance results.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { uploadFixtureModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

let t: TestApp;
let worker: TestWorker;
let modelId: string;
const wine = fixtureData('wine-bn');

beforeAll(async () => {
  t = await buildTestApp();
  worker = await startTestWorker(t);
  const res = await uploadFixtureModel(t.app.server, 'wine-bn', {
    featureNames: wine.featureNames,
  });
  modelId = res.body.id;
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

async function finished(id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 600; i++) {
    const reply = await gql(t.app, 'query($id: ID!) { job(id: $id) { status error { code } } }', {
      id,
    });
    const job = reply.data?.job;
    if (job && ['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

describe('GraphQL datasets', () => {
  it('returns a dataset stored over REST, with its rows', async () => {
    const stored = await request(t.app.server)
      .post('/v1/datasets')
      .send({
        name: 'wine background',
        featureNames: wine.featureNames,
        rows: wine.background.slice(0, 3),
      });
    expect(stored.status).toBe(201);
    const reply = await gql(t.app, 'query($id: ID!) { dataset(id: $id) { name rowCount rows } }', {
      id: stored.body.id,
    });
    expect(reply.errors).toBeUndefined();
    expect(reply.data!.dataset).toEqual({
      name: 'wine background',
      rowCount: 3,
      rows: wine.background.slice(0, 3),
    });
    const missing = await gql(t.app, '{ dataset(id: "nope") { id } }');
    expect(missing.errors![0].extensions!.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
  });

  it('lists datasets, reading rows only when asked, and removes one', async () => {
    const stored = await request(t.app.server)
      .post('/v1/datasets')
      .send({ name: 'listed', rows: wine.background.slice(3, 5) });
    const list = await gql(t.app, '{ datasets { id name rowCount rows } }');
    expect(list.errors).toBeUndefined();
    const listed = list.data!.datasets.find((d: { id: string }) => d.id === stored.body.id);
    expect(listed).toEqual({
      id: stored.body.id,
      name: 'listed',
      rowCount: 2,
      rows: wine.background.slice(3, 5),
    });

    const mutation = 'mutation($id: ID!) { deleteDataset(id: $id) }';
    const removed = await gql(t.app, mutation, { id: stored.body.id });
    expect(removed.data!.deleteDataset).toBe(stored.body.id);
    const after = await gql(t.app, '{ datasets { id } }');
    expect(after.data!.datasets.map((d: { id: string }) => d.id)).not.toContain(stored.body.id);
    const again = await gql(t.app, mutation, { id: stored.body.id });
    expect(again.errors![0].extensions!.code).toBe('GBX_ERR_DATASET_NOT_FOUND');
  });
});

describe('GraphQL activationStats', () => {
  it('queues the job and returns the same drift numbers as REST', async () => {
    const samples = wine.background.slice(0, 20);
    const reply = await gql(
      t.app,
      `mutation($input: ActivationStatsInput!) { activationStats(input: $input) { id status } }`,
      { input: { modelId, samples, histogramBins: 5 } },
    );
    expect(reply.errors).toBeUndefined();
    const id = reply.data!.activationStats.id;
    expect((await finished(id)).status).toBe('completed');

    const viaGraphql = await gql(
      t.app,
      `query($id: ID!) { job(id: $id) { result { __typename
        ... on ActivationStatsResult { sampleCount histogramBins layers } } } }`,
      { id },
    );
    expect(viaGraphql.errors).toBeUndefined();
    const result = viaGraphql.data!.job.result;
    expect(result.__typename).toBe('ActivationStatsResult');
    expect(result.sampleCount).toBe(20);
    const viaRest = await request(t.app.server).get(`/v1/jobs/${id}`);
    expect(result.layers).toEqual(viaRest.body.result.layers);
  });
});

describe('GraphQL explain with method options', () => {
  it('names a bad option by its path in the input', async () => {
    const reply = await gql(
      t.app,
      'mutation($input: ExplainInput!) { explain(input: $input) { id } }',
      {
        input: {
          modelId,
          method: 'lime',
          instances: wine.instances.slice(0, 1),
          background: wine.background.slice(0, 20),
          params: { seed: 3, options: { numSamples: -1 } },
        },
      },
    );
    const [error] = reply.errors!;
    expect(error.extensions!.code).toBe('GBX_ERR_VALIDATION');
    expect(error.extensions!.errors.map((e: { path: string }) => e.path)).toEqual([
      'params.options.numSamples',
    ]);
    expect(error.message).toContain('params.options.numSamples');
  });

  it('runs LIME and permutation importance and types their results', async () => {
    const cases = [
      { method: 'lime', options: { numSamples: 500, numFeatures: 3 }, type: 'LimeResult' },
      {
        method: 'permutation_importance',
        options: { nRepeats: 2, labels: wine.labels.slice(0, 10), metric: 'accuracy' },
        type: 'PermutationImportanceResult',
      },
    ];
    for (const c of cases) {
      const reply = await gql(
        t.app,
        'mutation($input: ExplainInput!) { explain(input: $input) { id } }',
        {
          input: {
            modelId,
            method: c.method,
            instances: wine.instances.slice(0, 10),
            background: wine.background.slice(0, 20),
            params: { seed: 3, options: c.options },
          },
        },
      );
      expect(reply.errors).toBeUndefined();
      const id = reply.data!.explain.id;
      expect((await finished(id)).status).toBe('completed');
      const typed = await gql(
        t.app,
        `query($id: ID!) { job(id: $id) { result { __typename
          ... on LimeResult { numSamples scores }
          ... on PermutationImportanceResult { metric importances { mean } } } } }`,
        { id },
      );
      expect(typed.errors).toBeUndefined();
      expect(typed.data!.job.result.__typename).toBe(c.type);
      const rest = (await request(t.app.server).get(`/v1/jobs/${id}`)).body.result;
      if (c.method === 'lime') expect(typed.data!.job.result.scores).toEqual(rest.scores);
      else expect(typed.data!.job.result.importances.map((i: any) => i.mean)).toEqual(
        rest.importances.map((i: any) => i.mean),
      );
    }
  });
});
