// Image samples for activation statistics: nested arrays or flat rows, and the BN weights of a
// published MobileNetV2 (no worker runs here; queued jobs are dropped with the test queue).
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { modelFiles, REAL_MODELS_DIR } from '../helpers/fixtures.js';
import { uploadModel } from '../helpers/upload.js';

let t: TestApp;
let modelId: string;

beforeAll(async () => {
  t = await buildTestApp();
  const files = modelFiles(path.join(REAL_MODELS_DIR, 'nsfwjs-mobilenetv2-bn-layers'));
  modelId = (await uploadModel(t.app.server, files)).body.id;
});
afterAll(async () => t?.close());

const image = (side: number) =>
  Array.from({ length: side }, (_, y) =>
    Array.from({ length: side }, (_, x) => [x / side, y / side, ((x + y) % side) / side]),
  );

describe('image samples', () => {
  it('accepts nested [224][224][3] arrays and flat rows of 224*224*3 values', async () => {
    const nested = image(224);
    const res = await request(t.app.server)
      .post('/v1/activation-stats')
      .send({ modelId, samples: [nested, nested.flat(2)], layers: ['bn_Conv1'] });
    expect(res.status).toBe(202);
  });

  it('names a sample of the wrong shape', async () => {
    const res = await request(t.app.server)
      .post('/v1/activation-stats')
      .send({ modelId, samples: [image(224), image(32)] });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['samples.1']);
    expect(res.body.errors[0].message).toMatch(/224, 224, 3/);
  });

  it('refuses more samples than MAX_ACTIVATION_SAMPLES', async () => {
    const capped = await buildTestApp({ MAX_ACTIVATION_SAMPLES: '2' });
    try {
      const res = await request(capped.app.server)
        .post('/v1/activation-stats')
        .send({ modelId: 'any', samples: [[1], [2], [3]] });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('samples');
    } finally {
      await capped.close();
    }
  });
});

describe('GET /v1/models/:id/batch-norm on MobileNetV2', () => {
  it('lists all 52 BN layers and the 22 zero moving variances', async () => {
    const res = await request(t.app.server).get(`/v1/models/${modelId}/batch-norm`);
    expect(res.status).toBe(200);
    expect(res.body.layers).toHaveLength(52);
    const zeros = res.body.layers.reduce(
      (s: number, l: { zeroVarianceChannels: number }) => s + l.zeroVarianceChannels,
      0,
    );
    expect(zeros).toBe(22);
    expect(res.body.layers[0].name).toBe('bn_Conv1');
  });
});
