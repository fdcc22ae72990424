// Hostile and oversized uploads: each refused with a named reason, nothing stored, API answering.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { fixtureModelDir, modelFiles, type ModelFiles } from '../helpers/fixtures.js';
import {
  asModelFiles,
  danglingLinkModel,
  einsumGraphModel,
  graphModel,
} from '../helpers/hostile-models.js';
import { uploadModel } from '../helpers/upload.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ TFJS_BACKEND: 'wasm' });
});
afterAll(async () => t?.close());

const breastCancer = modelFiles(fixtureModelDir('breast-cancer'));

const upload = (app: TestApp, files: ModelFiles) => uploadModel(app.app.server, files);

async function storedCount(app: TestApp): Promise<number> {
  return (await request(app.app.server).get('/v1/models')).body.items.length;
}

function withTopology(edit: (json: Record<string, any>) => void): ModelFiles {
  const json = JSON.parse(breastCancer.modelJson);
  edit(json);
  return { modelJson: JSON.stringify(json), weights: breastCancer.weights };
}

describe('upload size limits', () => {
  const jsonBytes = Buffer.byteLength(breastCancer.modelJson);

  it('accepts a file of exactly MAX_UPLOAD_BYTES and refuses one byte more with 413', async () => {
    // weights.bin is the largest file of this upload, so it alone meets the limit.
    const weights = breastCancer.weights.get('weights.bin')!;
    expect(weights.length).toBeGreaterThan(jsonBytes);
    const limited = await buildTestApp({
      MAX_UPLOAD_BYTES: String(weights.length),
      TFJS_BACKEND: 'wasm',
    });
    try {
      const exact = await upload(limited, breastCancer);
      expect(exact.status).toBe(201);

      const longer = new Map([['weights.bin', Buffer.concat([weights, Buffer.alloc(1)])]]);
      const over = await upload(limited, { ...breastCancer, weights: longer });
      expect(over.status).toBe(413);
      expect(over.body.code).toBe('GBX_ERR_UPLOAD_TOO_LARGE');
      expect(over.body.detail).toBe(
        'file weights.bin in part weights is larger than MAX_UPLOAD_BYTES ' +
          `(${weights.length} bytes)`,
      );
      expect(await storedCount(limited)).toBe(1);
    } finally {
      await limited.close();
    }
  });

  it('refuses an upload over MAX_UPLOAD_TOTAL_BYTES with 413 and stores nothing', async () => {
    const total = jsonBytes + breastCancer.weights.get('weights.bin')!.length;
    const limited = await buildTestApp({
      MAX_UPLOAD_TOTAL_BYTES: String(total - 1),
      TFJS_BACKEND: 'wasm',
    });
    try {
      const res = await upload(limited, breastCancer);
      expect(res.status).toBe(413);
      expect(res.body.detail).toMatch(/MAX_UPLOAD_TOTAL_BYTES/);
      expect(await storedCount(limited)).toBe(0);
    } finally {
      await limited.close();
    }
  });
});

describe('upload checks', () => {
  it(
    'rejects manifest paths that are absolute, hidden in a folder or a parent reference',
    async () => {
      for (const bad of ['/etc/passwd', 'sub/weights.bin', '..', 'a\\b.bin']) {
        const files = withTopology((json) => (json.weightsManifest[0].paths = [bad]));
        const res = await upload(t, files);
        expect(res.status).toBe(400);
        expect(res.body.errors.map((e: { message: string }) => e.message)).toContain(
          `weight path ${JSON.stringify(bad)} must be a plain file name`,
        );
      }
    },
  );

  it('lists every weight name the layers need but lack, and every one no layer takes', async () => {
    const files = withTopology((json) => {
      json.weightsManifest[0].weights[0].name = 'renamed/kernel';
      json.weightsManifest[0].weights[3].name = 'dense_Dense2/gamma';
    });
    const res = await upload(t, files);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_UPLOAD_INVALID');
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([
      'weights the layers need but the manifest lacks: dense_Dense1/kernel, dense_Dense2/bias',
      'weights in the manifest that no layer takes: renamed/kernel, dense_Dense2/gamma',
    ]);
  });

  it('refuses a Lambda layer naming the layer and its class, and stores nothing', async () => {
    const before = await storedCount(t);
    const files = withTopology(
      (json) => (json.modelTopology.config.layers[1].class_name = 'Lambda'),
    );
    const res = await upload(t, files);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_UPLOAD_UNSUPPORTED');
    expect(res.body.detail).toMatch(/layer "dense_Dense2" has class "Lambda"/);
    expect(await storedCount(t)).toBe(before);
  });

  it('refuses a custom layer class naming it', async () => {
    const files = withTopology(
      (json) => (json.modelTopology.config.layers[0].class_name = 'MyDense'),
    );
    const res = await upload(t, files);
    expect(res.body.code).toBe('GBX_ERR_UPLOAD_UNSUPPORTED');
    expect(res.body.detail).toMatch(/layer "dense_Dense1" has class "MyDense"/);
  });

  it(
    'refuses a model.json whose links name a missing layer, and keeps answering meanwhile',
    async () => {
      const [res, health] = await Promise.all([
        upload(t, asModelFiles(danglingLinkModel())),
        request(t.app.server).get('/health/live'),
      ]);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('GBX_ERR_UPLOAD_INVALID');
      expect(res.body.errors[0].message).toMatch(/layer "ghost", which does not exist/);
      expect(health.status).toBe(200);
      expect((await request(t.app.server).get('/health/live')).status).toBe(200);
    },
  );

  it('refuses a GraphModel op TensorFlow.js does not know, naming it', async () => {
    const res = await upload(t, asModelFiles(graphModel('FancyOp')));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('GBX_ERR_UPLOAD_UNSUPPORTED');
    expect(res.body.detail).toBe('op FancyOp is not one TensorFlow.js can run');
  });

  it(
    'refuses a GraphModel op with no kernel on the configured backend, naming op and backend',
    async () => {
      const res = await upload(t, asModelFiles(einsumGraphModel()));
      expect(res.status).toBe(400);
      expect(res.body.detail).toBe('op Einsum has no kernel on the wasm backend the workers use');
    },
  );

  it('stores a GraphModel whose ops all run', async () => {
    const res = await upload(t, asModelFiles(graphModel('Relu')));
    expect(res.status).toBe(201);
    expect(res.body.format).toBe('graph-model');
  });

  it(
    'refuses a model that does not load within MODEL_LOAD_TIMEOUT_MS, storing nothing',
    async () => {
      const impatient = await buildTestApp({ MODEL_LOAD_TIMEOUT_MS: '1' });
      try {
        const res = await upload(impatient, breastCancer);
        expect(res.status).toBe(422);
        expect(res.body.code).toBe('GBX_ERR_UPLOAD_TIMEOUT');
        expect(await storedCount(impatient)).toBe(0);
      } finally {
        await impatient.close();
      }
    },
  );
});
