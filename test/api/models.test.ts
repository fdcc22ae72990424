import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import { fixtureModelDir, modelFiles, REAL_MODELS_DIR } from '../helpers/fixtures.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { asModelFiles, functionalModel } from '../helpers/hostile-models.js';
import { uploadModel } from '../helpers/upload.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t?.close());

const breastCancer = modelFiles(fixtureModelDir('breast-cancer'));

const upload = (files = breastCancer, metadata?: unknown) =>
  uploadModel(t.app.server, files, metadata);

describe('POST /v1/models', () => {
  it('stores a LayersModel and describes its inputs, outputs and layers', async () => {
    const res = await upload(breastCancer, { name: 'bc', task: 'classification' });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v1/models/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: 'bc',
      format: 'layers-model',
      task: 'classification',
      inputs: [{ shape: [null, 30], dtype: 'float32' }],
      outputs: [{ shape: [null, 1] }],
      featureCount: 30,
      outputCount: 1,
    });
    expect(res.body.layers.map((l: { className: string }) => l.className)).toEqual([
      'Dense',
      'Dense',
    ]);
    expect(res.body.featureNames).toHaveLength(30);

    const fetched = await request(t.app.server).get(`/v1/models/${res.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(res.body);
    const listed = await request(t.app.server).get('/v1/models');
    expect(listed.body.items.map((m: { id: string }) => m.id)).toContain(res.body.id);
  });

  it('accepts weight files without .bin and keeps metadata names', async () => {
    const nsfw = modelFiles(path.join(REAL_MODELS_DIR, 'nsfwjs-mobilenetv2-bn-layers'));
    const res = await upload(nsfw, { outputNames: ['a', 'b', 'c', 'd', 'e'] });
    expect(res.status).toBe(201);
    expect(res.body.outputNames).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(res.body.inputs[0].shape).toEqual([null, 224, 224, 3]);
    expect(
      res.body.layers.filter((l: { className: string }) => l.className === 'BatchNormalization'),
    ).toHaveLength(52);
  });

  it('rejects a missing weight file, naming it, and stores nothing', async () => {
    const before = (await request(t.app.server).get('/v1/models')).body.items.length;
    const res = await upload({ modelJson: breastCancer.modelJson, weights: new Map() });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('GBX_ERR_UPLOAD_INVALID');
    expect(res.body.errors[0].message).toMatch(/weights\.bin/);
    expect((await request(t.app.server).get('/v1/models')).body.items).toHaveLength(before);
  });

  it('rejects weights shorter than the manifest needs', async () => {
    const short = new Map([
      ['weights.bin', breastCancer.weights.get('weights.bin')!.subarray(0, 100)],
    ]);
    const res = await upload({ modelJson: breastCancer.modelJson, weights: short });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/100 bytes .* need 2052/);
  });

  it('rejects an extra weight file and a manifest path with separators', async () => {
    const extra = new Map([...breastCancer.weights, ['other.bin', Buffer.alloc(4)]]);
    const res = await upload({ modelJson: breastCancer.modelJson, weights: extra });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { message: string }) => e.message).join()).toMatch(/other\.bin/);

    const json = JSON.parse(breastCancer.modelJson);
    json.weightsManifest[0].paths = ['../weights.bin'];
    const escaped = await upload({
      modelJson: JSON.stringify(json),
      weights: breastCancer.weights,
    });
    expect(escaped.status).toBe(400);
    expect(escaped.body.errors[0].message).toMatch(/plain file name/);
  });

  it('rejects model.json that is not JSON or not a model', async () => {
    const res = await upload({ modelJson: '{not json', weights: new Map() });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('model');
    const notModel = await upload({ modelJson: '{"hello": 1}', weights: new Map() });
    expect(notModel.body.errors[0].path).toBe('model.modelTopology');
  });

  it('rejects metadata whose feature names do not match the model', async () => {
    const res = await upload(breastCancer, { featureNames: ['a', 'b'], task: 'ranking' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['metadata.task']);
    const names = await upload(breastCancer, { featureNames: ['a', 'b'] });
    expect(names.body.errors[0]).toMatchObject({ path: 'metadata.featureNames' });
  });

  it('rejects weights whose names do not match the layers', async () => {
    const json = JSON.parse(breastCancer.modelJson);
    json.weightsManifest[0].weights[0].name = 'renamed/kernel';
    const res = await upload({ modelJson: JSON.stringify(json), weights: breastCancer.weights });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_UPLOAD_INVALID');
  });

  it('rejects a second model part instead of keeping the last', async () => {
    const res = await upload().attach('model', Buffer.from('{}'), 'other.json');
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual({ path: 'model', message: 'sent more than once' });
  });

  it('answers 400 for a multipart body without a boundary or cut short', async () => {
    const noBoundary = await request(t.app.server)
      .post('/v1/models')
      .set('content-type', 'multipart/form-data')
      .send('--x\r\n');
    expect(noBoundary.status).toBe(400);
    expect(noBoundary.body.code).toBe('GBX_ERR_VALIDATION');
    const truncated = await request(t.app.server)
      .post('/v1/models')
      .set('content-type', 'multipart/form-data; boundary=XyZ')
      .send('--XyZ\r\nContent-Disposition: form-data; name="model"; filename="m.json"\r\n\r\n{"a"');
    expect(truncated.status).toBe(400);
    expect(truncated.body.errors[0].message).toMatch(/malformed multipart/);
  });

  it('rejects a body that is not multipart', async () => {
    const res = await request(t.app.server).post('/v1/models').send({ model: 1 });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/multipart/);
  });

  it('answers 413 for a file over the upload limit', async () => {
    const small = await buildTestApp({ MAX_UPLOAD_BYTES: '1000' });
    try {
      const res = await uploadModel(small.app.server, breastCancer);
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('GBX_ERR_UPLOAD_TOO_LARGE');
      expect((await request(small.app.server).get('/v1/models')).body.items).toEqual([]);
    } finally {
      await small.close();
    }
  });
});

describe('categoricalFeatures in model metadata', () => {
  const threeFeatures = asModelFiles(functionalModel());
  const featureNames = ['width', 'height', 'colour'];

  async function modelCount(): Promise<number> {
    return (await request(t.app.server).get('/v1/models')).body.items.length;
  }

  it('stores names and indices as ascending indices and shows them in every view', async () => {
    const byName = await upload(threeFeatures, {
      featureNames,
      categoricalFeatures: ['colour', 'width'],
    });
    expect(byName.status).toBe(201);
    expect(byName.body.categoricalFeatures).toEqual([0, 2]);
    const byIndex = await upload(threeFeatures, { categoricalFeatures: [1] });
    expect(byIndex.status).toBe(201);
    expect(byIndex.body.categoricalFeatures).toEqual([1]);
    const mixed = await upload(threeFeatures, { featureNames, categoricalFeatures: [2, 'height'] });
    expect(mixed.body.categoricalFeatures).toEqual([1, 2]);

    const fetched = await request(t.app.server).get(`/v1/models/${byName.body.id}`);
    expect(fetched.body.categoricalFeatures).toEqual([0, 2]);
    const listed = await request(t.app.server).get('/v1/models');
    const views = new Map(
      listed.body.items.map((m: { id: string; categoricalFeatures: number[] }) => [
        m.id,
        m.categoricalFeatures,
      ]),
    );
    expect(views.get(byName.body.id)).toEqual([0, 2]);
    expect(views.get(byIndex.body.id)).toEqual([1]);
  });

  it('is empty when the metadata names none', async () => {
    const res = await upload(threeFeatures, { featureNames });
    expect(res.status).toBe(201);
    expect(res.body.categoricalFeatures).toEqual([]);
  });

  it('names each unknown name, out-of-range index and repeat, and stores nothing', async () => {
    const before = await modelCount();
    const res = await upload(threeFeatures, {
      featureNames,
      categoricalFeatures: ['colour', 'weight', 3, 2, 'width', 0],
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
    expect(res.body.errors).toEqual([
      {
        path: 'metadata.categoricalFeatures.1',
        message: 'no feature named "weight" in the model',
      },
      {
        path: 'metadata.categoricalFeatures.2',
        message: 'index 3 is out of range: the model has 3 features',
      },
      {
        path: 'metadata.categoricalFeatures.3',
        message: 'feature 2 (colour) is already listed at metadata.categoricalFeatures.0',
      },
      {
        path: 'metadata.categoricalFeatures.5',
        message: 'feature 0 (width) is already listed at metadata.categoricalFeatures.4',
      },
    ]);
    expect(await modelCount()).toBe(before);
  });

  it('checks names against the generated names when the metadata gives none', async () => {
    const generated = await upload(threeFeatures, { categoricalFeatures: ['feature_2'] });
    expect(generated.body.categoricalFeatures).toEqual([2]);
    const res = await upload(threeFeatures, { categoricalFeatures: ['colour'] });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'metadata.categoricalFeatures.0',
    ]);
  });

  it('rejects entries that are neither a name nor a non-negative integer', async () => {
    const res = await upload(threeFeatures, { categoricalFeatures: [-1, 1.5, '', true] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_VALIDATION');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'metadata.categoricalFeatures.0',
      'metadata.categoricalFeatures.1',
      'metadata.categoricalFeatures.2',
      'metadata.categoricalFeatures.3',
    ]);
    const reasons = res.body.errors.map((e: { message: string }) => e.message);
    const notAReference = 'must be a feature name or a feature index (an integer from 0)';
    expect(reasons[1]).toBe(notAReference);
    expect(reasons[3]).toBe(notAReference);
  });

  it('reads a record stored before the field existed as having none', async () => {
    const res = await upload(threeFeatures, { featureNames, categoricalFeatures: ['colour'] });
    const recordFile = path.join(
      t.config.storeDir,
      'models',
      OPEN_TENANT,
      res.body.id,
      'record.json',
    );
    const { categoricalFeatures, ...older } = JSON.parse(await readFile(recordFile, 'utf8'));
    expect(categoricalFeatures).toEqual([2]);
    await writeFile(recordFile, JSON.stringify(older));

    const fetched = await request(t.app.server).get(`/v1/models/${res.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual({ ...res.body, categoricalFeatures: [] });
    const listed = await request(t.app.server).get('/v1/models');
    const view = listed.body.items.find((m: { id: string }) => m.id === res.body.id);
    expect(view.categoricalFeatures).toEqual([]);
  });
});

describe('GET and DELETE /v1/models/:id', () => {
  it('answers problem+json for an overlong or undecodable id', async () => {
    const long = await request(t.app.server).get(`/v1/models/${'a'.repeat(5000)}`);
    expect(long.status).toBe(414);
    expect(long.body.code).toBe('GBX_ERR_URL_TOO_LONG');
    expect(JSON.stringify(long.body).length).toBeLessThan(400);
    const bad = await request(t.app.server).get('/v1/models/%ZZ');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.code).toBe('GBX_ERR_URL_INVALID');
  });

  it('returns 404 for an unknown model', async () => {
    const res = await request(t.app.server).get('/v1/models/no-such-model');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('GBX_ERR_MODEL_NOT_FOUND');
  });

  it('deletes a model, then answers 404 for it', async () => {
    const created = await upload();
    const del = await request(t.app.server).delete(`/v1/models/${created.body.id}`);
    expect(del.status).toBe(204);
    expect((await request(t.app.server).get(`/v1/models/${created.body.id}`)).status).toBe(404);
    expect((await request(t.app.server).delete(`/v1/models/${created.body.id}`)).status).toBe(404);
  });
});
