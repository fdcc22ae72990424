import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaText, SCHEMA_DIR } from '../../src/api/graphql/schema.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData } from '../helpers/fixtures.js';
import { firstSubscriptionMessage, gql } from '../helpers/graphql.js';
import { uploadFixtureModel } from '../helpers/upload.js';

const MAX_DEPTH = 4;
const MAX_COST = 100;
let t: TestApp;
let modelId: string;
const data = fixtureData('breast-cancer');

beforeAll(async () => {
  t = await buildTestApp({
    GRAPHQL_MAX_DEPTH: String(MAX_DEPTH),
    GRAPHQL_MAX_COST: String(MAX_COST),
  });
  const res = await uploadFixtureModel(t.app.server, 'breast-cancer', {
    featureNames: data.featureNames,
  });
  modelId = res.body.id;
});
afterAll(async () => t?.close());

describe('GraphQL schema', () => {
  it('is loaded from the .graphql files in schema/', async () => {
    const schema = buildSchema(await loadSchemaText(SCHEMA_DIR));
    expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual([
      'dataset',
      'datasets',
      'job',
      'jobs',
      'model',
      'models',
    ]);
    expect(Object.keys(schema.getMutationType()!.getFields()).sort()).toEqual([
      'activationStats',
      'cancelJob',
      'deleteDataset',
      'deleteModel',
      'explain',
    ]);
    expect(Object.keys(schema.getSubscriptionType()!.getFields())).toEqual(['jobUpdated']);

    const served = await gql(t.app, '{ __schema { queryType { fields { name } } } }');
    const names = served.data!.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(names.sort()).toEqual(['dataset', 'datasets', 'job', 'jobs', 'model', 'models']);
  });

  it('joins every .graphql file of a folder in name order', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gbx-sdl-'));
    await writeFile(path.join(dir, 'b.graphql'), 'type B { x: Int }');
    await writeFile(path.join(dir, 'a.graphql'), 'type Query { b: B }');
    await writeFile(path.join(dir, 'notes.txt'), 'not a schema');
    expect(await loadSchemaText(dir)).toBe('type Query { b: B }\ntype B { x: Int }');
    await rm(dir, { recursive: true, force: true });
  });

  it('says in the SDL that model upload stays on REST', async () => {
    const schema = buildSchema(await loadSchemaText());
    expect(schema.getMutationType()!.description).toMatch(/POST \/v1\/models/);
  });
});

describe('GraphQL models', () => {
  it('show the categorical features named in the upload metadata, as indices', async () => {
    const uploaded = await uploadFixtureModel(t.app.server, 'breast-cancer', {
      featureNames: data.featureNames,
      categoricalFeatures: [data.featureNames[7], 4],
    });
    expect(uploaded.status).toBe(201);
    const one = await gql(t.app, 'query($id: ID!) { model(id: $id) { categoricalFeatures } }', {
      id: uploaded.body.id,
    });
    expect(one.errors).toBeUndefined();
    expect(one.data!.model.categoricalFeatures).toEqual([4, 7]);
    const all = await gql(t.app, '{ models { id categoricalFeatures } }');
    expect(all.data!.models).toContainEqual({ id: uploaded.body.id, categoricalFeatures: [4, 7] });
    expect(all.data!.models).toContainEqual({ id: modelId, categoricalFeatures: [] });
  });
});

describe('GraphQL errors', () => {
  it('answer a request without a query with a 400, not an internal error', async () => {
    const res = await gql(t.app, '');
    expect(res.statusCode).toBe(400);
    expect(res.errors![0].extensions).toEqual({ code: 'GBX_ERR_VALIDATION' });
    expect(res.errors![0].message).toBe('Unknown query');
  });

  it('carry the REST code for an unknown model', async () => {
    const res = await gql(t.app, 'query($id: ID!) { model(id: $id) { id } }', { id: 'nope' });
    expect(res.data).toEqual({ model: null });
    expect(res.errors![0].extensions).toEqual({ code: 'GBX_ERR_MODEL_NOT_FOUND' });
  });

  it('carry GBX_ERR_VALIDATION and each bad field for a bad explain input', async () => {
    const res = await gql(
      t.app,
      'mutation($input: ExplainInput!) { explain(input: $input) { id } }',
      {
        input: {
          modelId,
          method: 'kernel_shap',
          instances: [data.instances[0].slice(1)],
          background: [data.background[0]],
        },
      },
    );
    expect(res.errors![0].extensions!.code).toBe('GBX_ERR_VALIDATION');
    expect(res.errors![0].extensions!.errors).toEqual([
      { path: 'instances.0', message: 'has 29 values; the model takes 30' },
    ]);
    expect(await t.ctx.queue.count()).toBe(0);
  });

  it('carry GBX_ERR_VALIDATION for a query that does not parse or names no field', async () => {
    const broken = await gql(t.app, '{ models { id ');
    expect(broken.errors![0].extensions!.code).toBe('GBX_ERR_VALIDATION');
    const unknown = await gql(t.app, '{ models { weights } }');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.errors![0].extensions!.code).toBe('GBX_ERR_VALIDATION');
  });

  it('carry GBX_ERR_JOB_NOT_FOUND when cancelling an unknown job', async () => {
    const res = await gql(t.app, 'mutation { cancelJob(id: "missing") { id } }');
    expect(res.errors![0].extensions!.code).toBe('GBX_ERR_JOB_NOT_FOUND');
  });

  it('delete a model through deleteModel, then report it missing', async () => {
    const uploaded = await uploadFixtureModel(t.app.server, 'breast-cancer');
    const query = 'mutation($id: ID!) { deleteModel(id: $id) }';
    expect((await gql(t.app, query, { id: uploaded.body.id })).data).toEqual({
      deleteModel: uploaded.body.id,
    });
    const again = await gql(t.app, query, { id: uploaded.body.id });
    expect(again.errors![0].extensions!.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
  });
});

describe(`GraphQL depth limit (${MAX_DEPTH})`, () => {
  // Depths: jobs 1, edges 2, node 3, result 4, fields of ShapleyResult 5; __typename adds none.
  // Pages of one job keep these queries under the cost limit.
  const atLimit = '{ jobs(first: 1) { edges { node { result { __typename } } } } }';
  const overInline =
    '{ jobs(first: 1) { edges { node { result { ... on ShapleyResult { seed } } } } } }';

  it('accepts a query exactly at the limit', async () => {
    const res = await gql(t.app, atLimit);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ jobs: { edges: [] } });
  });

  it('rejects one level more, reached through an inline fragment', async () => {
    const res = await gql(t.app, overInline);
    expect(res.statusCode).toBe(400);
    expect(res.errors![0].extensions).toMatchObject({ code: 'GBX_ERR_QUERY_TOO_DEEP', depth: 5 });
  });

  it('counts fields inside named fragments at the depth where they are spread', async () => {
    const fragments = `
      fragment Result on Job { result { ... on ShapleyResult { seed } } }
      fragment Node on JobEdge { node { id ...Result } }`;
    const res = await gql(
      t.app,
      `${fragments} query Deep { jobs(first: 1) { edges { ...Node } } }`,
    );
    expect(res.errors![0].extensions).toMatchObject({ code: 'GBX_ERR_QUERY_TOO_DEEP', depth: 5 });
    expect(res.errors![0].message).toMatch(/Deep/);

    const legal =
      'fragment Node on JobEdge { node { result { __typename } } } ' +
      '{ jobs(first: 1) { edges { ...Node } } }';
    expect((await gql(t.app, legal)).errors).toBeUndefined();
  });

  it('takes the deepest sibling, neither the first nor the sum', async () => {
    const shallowFirst =
      `{ models { id } jobs(first: 1) { pageInfo { hasNextPage } edges { node { result {
      ... on ShapleyResult { seed } } } } } }`;
    expect((await gql(t.app, shallowFirst)).errors![0].extensions!.depth).toBe(5);

    const repeated = `fragment Node on JobEdge { node { id } }
      { models { id inputs { name } } jobs(first: 1) ` +
      '{ edges { ...Node ...Node node { status } } } }';
    expect((await gql(t.app, repeated)).errors).toBeUndefined();
  });
});

describe(`GraphQL cost limit (${MAX_COST})`, () => {
  // A field costs 1 plus its selection; jobs costs (1 + selection) × first.
  // Here: id 1, node 1 + 1, edges 1 + 2, jobs (1 + 3) × first = 4 × first.
  const query = 'query($n: Int) { jobs(first: $n) { edges { node { id } } } }';

  it('accepts a query that costs exactly the limit', async () => {
    const res = await gql(t.app, query, { n: 25 });
    expect(res.errors).toBeUndefined();
  });

  it('rejects one page item more, with the cost it computed', async () => {
    const res = await gql(t.app, query, { n: 26 });
    expect(res.statusCode).toBe(400);
    expect(res.errors![0].extensions).toEqual({
      code: 'GBX_ERR_QUERY_TOO_COSTLY',
      cost: 104,
      maxCost: 100,
    });
  });

  it('counts the default page size (20) when first is left out', async () => {
    // node 1 + 3, edges 1 + 4, jobs (1 + 5) × 20.
    const res = await gql(t.app, '{ jobs { edges { node { id status type } } } }');
    expect(res.errors![0].extensions!.cost).toBe(120);
  });
});

describe('GraphiQL', () => {
  it('is served only when GRAPHIQL is true', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/graphiql' })).statusCode).toBe(404);
    const dev = await buildTestApp({ GRAPHIQL: 'true' });
    try {
      const res = await dev.app.inject({ method: 'GET', url: '/graphiql' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
    } finally {
      await dev.close();
    }
  });
});

describe('limits on subscriptions over WebSocket', () => {
  it('refuses a subscription deeper than the limit with the same code', async () => {
    const shallow = await buildTestApp({ GRAPHQL_MAX_DEPTH: '2' });
    try {
      const address = await shallow.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `${address.replace('http', 'ws')}/graphql`;
      // jobUpdated 1, result 2, seed 3.
      const deep =
        'subscription { jobUpdated(id: "x") { result { ... on ShapleyResult { seed } } } }';
      const answer = await firstSubscriptionMessage(url, deep);
      expect(answer.type).toBe('error');
      expect(answer.payload[0].extensions).toMatchObject({
        code: 'GBX_ERR_QUERY_TOO_DEEP',
        depth: 3,
      });
    } finally {
      await shallow.close();
    }
  });
});
