import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { SpecChecker, specPath, UNDOCUMENTED_ROUTE } from '../helpers/openapi.js';

let t: TestApp;
let spec: SpecChecker;

beforeAll(async () => {
  t = await buildTestApp();
  spec = await SpecChecker.load();
});
afterAll(async () => t?.close());

/** Routes the app serves as part of its API: no HEAD twins, no tool pages. */
function apiRoutes(): string[] {
  return [
    ...new Set(
      t.routes
        .filter((r) => !r.startsWith('HEAD '))
        .filter((r) => !UNDOCUMENTED_ROUTE.test(r.split(' ')[1]))
        .map((r) => {
          const [method, route] = r.split(' ');
          return `${method} ${specPath(route)}`;
        }),
    ),
  ].sort();
}

describe('openapi.yaml', () => {
  it('documents every route the app registers, and no other', () => {
    const registered = apiRoutes();
    const documented = spec.operations().sort();
    expect(registered.length).toBeGreaterThan(10);
    expect(registered.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((r) => !registered.includes(r))).toEqual([]);
  });

  it('lists exactly the error codes of the catalogue', async () => {
    const { parse } = await import('yaml');
    const { readFile } = await import('node:fs/promises');
    const doc = parse(await readFile(new URL('../../openapi.yaml', import.meta.url), 'utf8'));
    const { ERROR_CODES } = await import('../../src/errors.js');
    expect([...doc.components.schemas.Problem.properties.code.enum].sort()).toEqual(
      [...ERROR_CODES].sort(),
    );
  });

  it('is served as /openapi.json', async () => {
    const res = await request(t.app.server).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths).sort()).toEqual(Object.keys(spec.document.paths).sort());
  });

  it('has an interactive page at /docs', async () => {
    const res = await request(t.app.server).get('/docs/').redirects(2);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toMatch(/swagger/i);
  });
});

describe('response checking against the spec', () => {
  it('passes a conforming response and names what is wrong in others', () => {
    const base = { method: 'GET', route: '/v1/models/:id', contentType: 'application/json' };
    const problem = JSON.stringify({
      type: 'x',
      title: 'No such model',
      status: 404,
      detail: 'no model with id x',
      code: 'GBX_ERR_MODEL_NOT_FOUND',
    });
    expect(
      spec.check({ ...base, status: 404, contentType: 'application/problem+json', body: problem }),
    ).toBeNull();
    expect(spec.check({ ...base, status: 200, body: '{"id":5}' })).toMatch(
      /must have required property/,
    );
    expect(spec.check({ ...base, status: 418, body: '{}' })).toMatch(/status is not documented/);
    expect(spec.check({ ...base, status: 404, body: problem })).toMatch(
      /content type application\/json/,
    );
    expect(spec.check({ ...base, route: '/v2/models/:id', status: 200, body: '{}' })).toMatch(
      /not in the spec/,
    );
  });

  it('records the responses of the tests, to check them when the app closes', async () => {
    await request(t.app.server).get('/v1/models/missing');
    const recorded = t.responses.find((r) => r.route === '/v1/models/:id' && r.status === 404);
    expect(recorded?.contentType).toMatch(/application\/problem\+json/);
    expect(spec.check(recorded!)).toBeNull();
  });
});
