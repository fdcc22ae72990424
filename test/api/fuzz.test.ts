// Fuzzing the API with fast-check. REST: bodies built from the OpenAPI request schemas (with
// wrong types, missing and unknown fields mixed in), broken JSON, odd headers and path
// parameters, and multipart uploads perturbed from a valid model; no answer may be a 5xx, and
// every error must be problem+json with a catalogued code, at a status the spec documents
// (checked again, in full, against openapi.yaml when the app closes). GraphQL: explain
// mutations from valid, perturbed and schema-built inputs and broken documents; every error
// carries a catalogued code other than GBX_ERR_INTERNAL. FUZZ_RUNS scales the runs per property.
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureData, fixtureModelDir, modelFiles } from '../helpers/fixtures.js';
import { SpecChecker, specPath } from '../helpers/openapi.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const KEY = 'fuzz-tenant-key-0123456789';
type Json = Record<string, any>;

let t: TestApp;
let spec: SpecChecker;
/** A stored model, so that some fuzzed requests get past the model lookup. */
let modelId: string;
const tally = { requests: 0, status5xx: 0, byStatus: {} as Record<number, number> };

beforeAll(async () => {
  t = await buildTestApp({ API_KEYS: `fuzz:${KEY}`, RATE_LIMIT_MAX: '1000000' });
  spec = await SpecChecker.load();
  const files = modelFiles(fixtureModelDir('breast-cancer'));
  const boundary = 'setupboundary';
  const upload = await t.app.inject({
    method: 'POST',
    url: '/v1/models',
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      authorization: `Bearer ${KEY}`,
    },
    payload: multipart(
      [
        { field: 'model', filename: 'model.json', data: Buffer.from(files.modelJson) },
        { field: 'weights', filename: 'weights.bin', data: files.weights.get('weights.bin')! },
      ],
      boundary,
    ),
  });
  expect(upload.statusCode).toBe(201);
  modelId = JSON.parse(upload.body).id;
});

afterAll(async () => {
  const statuses = JSON.stringify(tally.byStatus);
  process.stdout.write(
    `fuzz: ${tally.requests} requests, ${tally.status5xx} answered 5xx; statuses ${statuses}\n`,
  );
  await t?.close();
});

/** A schema with its `$ref` followed. */
function resolve(node: Json): Json {
  if (typeof node?.$ref !== 'string') return node;
  const target = node.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((at: Json, key: string) => at[key], spec.document);
  return resolve(target);
}

/** Any JSON value: the wrong type for most fields. */
const anyJson = fc.jsonValue({ maxDepth: 2 });

/**
 * Values shaped by a request schema: right types most of the time, any JSON now and then;
 * objects with some of their documented fields and, sometimes, unknown ones.
 */
function fromSchema(node: Json, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(node);
  if (depth > 4) return anyJson;
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) return fc.oneof(...variants.map((v: Json) => fromSchema(v, depth + 1)), anyJson);
  const typed = typedValue(schema, depth);
  return fc.oneof({ arbitrary: typed, weight: 6 }, { arbitrary: anyJson, weight: 1 });
}

function typedValue(schema: Json, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Json;
      const fields = Object.fromEntries(
        Object.entries(properties).map(([k, v]) => [
          k,
          k === 'modelId'
            ? fc.oneof(fc.constant(modelId), fromSchema(v as Json, depth + 1))
            : fromSchema(v as Json, depth + 1),
        ]),
      );
      return fc
        .tuple(
          fc.record(fields, { requiredKeys: [] }),
          fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 2 }),
        )
        .map(([known, unknown]) => ({ ...unknown, ...known }));
    }
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, depth + 1), { maxLength: 4 });
    case 'integer':
      return fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 31, Number.MAX_SAFE_INTEGER));
    case 'number':
      return fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: -5, max: 5 }));
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.string({ maxLength: 40 });
    default:
      return anyJson;
  }
}

/**
 * Documented REST operations with a JSON request body. GraphQL answers in its own error format,
 * not problem+json, and has its own tests.
 */
function jsonOperations(): { method: string; path: string; schema: Json }[] {
  const rest = Object.entries(spec.document.paths as Json).filter(([p]) => p.startsWith('/v1/'));
  return rest.flatMap(([path, item]) =>
    Object.entries(item as Json)
      .filter(([, op]) => (op as Json)?.requestBody?.content?.['application/json'])
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        schema: (op as Json).requestBody.content['application/json'].schema,
      })),
  );
}

/** Asserts the answer is no 5xx, and an error is a documented problem+json. */
function checkAnswer(method: string, route: string, res: LightMyRequestResponse): void {
  tally.requests++;
  tally.byStatus[res.statusCode] = (tally.byStatus[res.statusCode] ?? 0) + 1;
  if (res.statusCode >= 500) tally.status5xx++;
  const where = `${method} ${route} -> ${res.statusCode}: ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  const documented = spec.document.paths[specPath(route)]?.[method.toLowerCase()]?.responses ?? {};
  expect(Object.keys(documented), where).toContain(String(res.statusCode));
  if (res.statusCode >= 400) {
    expect(res.headers['content-type'], where).toMatch(/^application\/problem\+json/);
    expect(ERROR_CODES, where).toContain(JSON.parse(res.body).code);
  }
}

const auth = fc.oneof(
  { arbitrary: fc.constant(`Bearer ${KEY}`), weight: 8 },
  { arbitrary: fc.constantFrom(undefined, 'Bearer', `bearer ${KEY}`, `Basic ${KEY}`), weight: 1 },
  { arbitrary: fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`), weight: 1 },
);

/** Fills `{id}` with a printable string that may be long, empty-ish or full of separators. */
function fillPath(path: string, id: string): string {
  return path.replace(/\{[^}]+\}/g, encodeURIComponent(id) || 'x');
}

describe('fuzzed JSON requests', () => {
  it('get a documented answer, never a 5xx, on every JSON route', async () => {
    const operations = jsonOperations();
    expect(operations.length).toBeGreaterThan(2);
    for (const op of operations) {
      const route = op.path.replace(/\{([^}]+)\}/g, ':$1');
      const body = fc.oneof(
        { arbitrary: fromSchema(op.schema).map((v) => JSON.stringify(v)), weight: 6 },
        // Broken JSON: a valid body cut short, or one with a stray byte.
        {
          arbitrary: fc
            .tuple(fromSchema(op.schema), fc.nat(), fc.string({ maxLength: 2 }))
            .map(([v, at, junk]) => {
              const text = JSON.stringify(v) ?? '';
              const cut = text.length > 0 ? at % text.length : 0;
              return text.slice(0, cut) + junk;
            }),
          weight: 2,
        },
      );
      const contentType = fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        undefined,
      );
      await fc.assert(
        fc.asyncProperty(
          body,
          contentType,
          auth,
          fc.string({ maxLength: 80 }),
          async (payload, type, authorization, id) => {
            const headers: Record<string, string> = {};
            if (type) headers['content-type'] = type;
            if (authorization) headers.authorization = authorization;
            const res = await t.app.inject({
              method: op.method as 'POST',
              url: fillPath(op.path, id),
              headers,
              payload,
            });
            checkAnswer(op.method, route, res);
          },
        ),
        { numRuns: RUNS },
      );
    }
  });

  it('get a documented answer on every GET and DELETE, fuzzed ids and queries', async () => {
    const operations = spec.operations().filter((o) => /^(GET|DELETE) \/v1\//.test(o));
    const query = fc.dictionary(
      fc.constantFrom('status', 'type', 'modelId', 'first', 'after', 'limit', 'x'),
      fc.string({ maxLength: 30 }),
      { maxKeys: 3 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        fc.string({ maxLength: 120 }),
        query,
        auth,
        async (operation, id, params, authorization) => {
          const [method, path] = operation.split(' ');
          const search = new URLSearchParams(params).toString();
          const res = await t.app.inject({
            method: method as 'GET',
            url: `${fillPath(path, id)}${search ? `?${search}` : ''}`,
            headers: authorization ? { authorization } : {},
          });
          checkAnswer(method, path.replace(/\{([^}]+)\}/g, ':$1'), res);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});

/** One multipart part: a field name, an optional file name, and its bytes. */
interface Part {
  field: string;
  filename?: string;
  data: Buffer;
}

function multipart(parts: Part[], boundary: string): Buffer {
  const chunks = parts.flatMap((p) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"` +
        `${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`,
    ),
    p.data,
    Buffer.from('\r\n'),
  ]);
  return Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]);
}

describe('fuzzed model uploads', () => {
  it('refuse a perturbed model, file names and parts with a documented 4xx', async () => {
    const files = modelFiles(fixtureModelDir('breast-cancer'));
    const weights = files.weights.get('weights.bin')!;
    const modelJson = JSON.parse(files.modelJson) as Json;
    // Perturb one spot of the valid model.json: a manifest path, a layer class, a shape, a name.
    const perturbedModel = fc
      .tuple(
        fc.constantFrom('path', 'class', 'shape', 'weightName', 'format', 'drop', 'text'),
        anyJson,
        fc.string({ maxLength: 20 }),
      )
      .map(([what, value, text]) => {
        const copy = structuredClone(modelJson);
        const layers = copy.modelTopology?.model_config?.config?.layers ?? [];
        if (what === 'path') copy.weightsManifest[0].paths[0] = text || '../weights.bin';
        if (what === 'class' && layers[1]) layers[1].class_name = text || 'Lambda';
        if (what === 'shape') copy.weightsManifest[0].weights[0].shape = value;
        if (what === 'weightName') copy.weightsManifest[0].weights[0].name = text;
        if (what === 'format') copy.format = value;
        if (what === 'drop') delete copy.modelTopology;
        if (what === 'text') return Buffer.from(JSON.stringify(copy).slice(0, text.length * 5));
        return Buffer.from(JSON.stringify(copy));
      });
    const weightFileName = fc.constantFrom('weights.bin', '../weights.bin', '/etc/passwd', '');
    const part = fc.oneof(
      perturbedModel.map((data) => ({ field: 'model', filename: 'model.json', data })),
      fc
        .tuple(weightFileName, fc.nat(3))
        .map(([filename, cut]) => ({
          field: 'weights',
          filename,
          data: weights.subarray(0, weights.length - cut * 4),
        })),
      fc.jsonValue({ maxDepth: 2 }).map((v) => ({
        field: 'metadata',
        data: Buffer.from(JSON.stringify(v) ?? ''),
      })),
      fc.tuple(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 64 })).map(([f, d]) => ({
        field: f || 'extra',
        filename: 'x',
        data: Buffer.from(d),
      })),
    );
    const boundary = 'fuzzboundary7MA4YWxk';
    const contentType = fc.constantFrom(
      `multipart/form-data; boundary=${boundary}`,
      'multipart/form-data',
      'application/json',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(part, { minLength: 0, maxLength: 4 }),
        contentType,
        fc.boolean(),
        async (parts, type, truncate) => {
          let payload = multipart(parts, boundary);
          if (truncate) payload = payload.subarray(0, payload.length >> 1);
          const res = await t.app.inject({
            method: 'POST',
            url: '/v1/models',
            headers: { 'content-type': type, authorization: `Bearer ${KEY}` },
            payload,
          });
          checkAnswer('POST', '/v1/models', res);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** A REST explanation body as the `explain` mutation's input: method params under `options`. */
function asExplainInput(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { params, ...rest } = body as Json;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return params === undefined ? rest : { ...rest, params };
  }
  const { nsamples, link, seed, outputs, l1Reg, ...options } = params as Json;
  const typed = Object.fromEntries(
    Object.entries({ nsamples, link, seed, outputs, l1Reg }).filter(([, v]) => v !== undefined),
  );
  return { ...rest, params: { ...typed, options } };
}

describe('fuzzed GraphQL operations', () => {
  it('answer explain mutations and broken documents with catalogued codes', async () => {
    const explain = 'mutation($input: ExplainInput!) { explain(input: $input) { id } }';
    const document = fc.oneof(
      { arbitrary: fc.constant(explain), weight: 6 },
      { arbitrary: fc.nat(explain.length).map((cut) => explain.slice(0, cut)), weight: 1 },
      { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
    );
    const restBody =
      spec.document.paths['/v1/explanations'].post.requestBody.content['application/json'].schema;
    // Valid inputs, some with one field replaced by any JSON, so that accepted paths run too.
    const data = fixtureData('breast-cancer');
    const valid = fc
      .record({
        method: fc.constantFrom('kernel_shap', 'sampling_shap', 'lime', 'exact_shap'),
        seed: fc.nat(1000),
        nsamples: fc.option(fc.integer({ min: 2, max: 50 }), { nil: undefined }),
      })
      .map(({ method, seed, nsamples }) => ({
        modelId,
        method,
        instances: [data.instances[0]],
        background: data.background.slice(0, 3),
        params: nsamples === undefined ? { seed } : { seed, nsamples },
      }));
    const input = fc.oneof(
      { arbitrary: valid, weight: 3 },
      {
        arbitrary: fc
          .tuple(valid, fc.constantFrom('method', 'instances', 'background', 'params'), anyJson)
          .map(([base, key, value]) => ({ ...base, [key]: value })),
        weight: 2,
      },
      { arbitrary: fromSchema(restBody).map(asExplainInput), weight: 3 },
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(document, input, auth, async (query, body, authorization) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (authorization) headers.authorization = authorization;
        const res = await t.app.inject({
          method: 'POST',
          url: '/graphql',
          headers,
          payload: JSON.stringify({ query, variables: { input: body } }),
        });
        tally.requests++;
        tally.byStatus[res.statusCode] = (tally.byStatus[res.statusCode] ?? 0) + 1;
        const where = `POST /graphql -> ${res.statusCode}: ${res.body.slice(0, 300)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        const answer = JSON.parse(res.body) as Json;
        for (const error of answer.errors ?? []) {
          expect(ERROR_CODES, where).toContain(error.extensions?.code);
          expect(error.extensions.code, where).not.toBe('GBX_ERR_INTERNAL');
        }
        if (!answer.errors) {
          expect(typeof answer.data.explain.id, where).toBe('string');
          accepted++;
        }
      }),
      { numRuns: RUNS * 4 },
    );
    process.stdout.write(`fuzz: ${accepted} GraphQL explain mutations accepted\n`);
    expect(accepted).toBeGreaterThan(0);
  });
});
