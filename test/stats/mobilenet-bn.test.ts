// Statistics on a published MobileNetV2 (52 BN layers, 22 moving variances exactly 0).
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationStatsResult } from '../../src/stats/activation-stats.js';
import { buildLayersProbe, listBatchNormLayers } from '../../src/stats/layers-probe.js';
import { selectBackend } from '../../src/tf/backend.js';
import { REAL_MODELS_DIR } from '../helpers/fixtures.js';
import { loadFixtureModel, runStats } from '../helpers/stats.js';

const FOLDER = path.join(REAL_MODELS_DIR, 'nsfwjs-mobilenetv2-bn-layers');
const SIDE = 224;

/** Smooth colour gradients with a per-image phase, values in [0, 1]. */
function generatedImage(seed: number): number[] {
  const pixels: number[] = [];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      pixels.push(
        0.5 + 0.5 * Math.sin((x + 7 * seed) / 17),
        0.5 + 0.5 * Math.cos((y - 5 * seed) / 23),
        ((x + y + 31 * seed) % SIDE) / SIDE,
      );
    }
  }
  return pixels;
}

let model: tf.LayersModel;
let result: ActivationStatsResult;
let tensorsBefore: number;
const images = [0, 1, 2, 3].map(generatedImage);

beforeAll(async () => {
  await selectBackend('wasm');
  model = await loadFixtureModel(FOLDER);
  tensorsBefore = tf.memory().numTensors;
  const probe = await buildLayersProbe(model, { wants: () => true, wantsInside: () => true });
  result = await runStats(probe, images, { batchValueBudget: 4 << 20 });
});
afterAll(() => model?.dispose());

describe('statistics of nsfwjs MobileNetV2', () => {
  it('reports every layer and all 52 BN layers, with finite numbers only', () => {
    expect(result.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    const bn = result.layers.filter((l) => l.batchNorm);
    expect(bn).toHaveLength(52);
    expect(result.batchNormSummary.layers).toBe(52);
    const zeroVariances = bn.flatMap((l) => l.batchNorm!.movingVariance).filter((v) => v === 0);
    expect(zeroVariances).toHaveLength(22);
    for (const l of bn) {
      const b = l.batchNorm!;
      for (const list of [b.shift, b.varianceRatio, b.inputMean, b.inputVariance]) {
        expect(list.every((v) => v !== null && Number.isFinite(v))).toBe(true);
      }
      expect(b.summary.flooredChannels).toBe(0);
    }
    for (const l of result.layers) {
      for (const list of [l.mean, l.std, l.min, l.max]) {
        expect(list.every((v) => v !== null && Number.isFinite(v))).toBe(true);
      }
      expect(l.nonFiniteFraction.every((f) => f === 0)).toBe(true);
      expect(l.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(
        4 * (l.observedShape.slice(1) as number[]).reduce((a, b) => a * b, 1),
      );
    }
  });

  it('measures the batch size from the first sample and streams in batches', () => {
    expect(result.batchRows).toBeGreaterThanOrEqual(1);
    expect(result.batchRows).toBeLessThan(4);
    expect(result.passes).toBe(2);
  });

  it('gives each BN output mean as gamma * shift + beta of its input statistics', () => {
    // BN in inference is affine per channel, so the mean of its output follows from its input's.
    for (const l of result.layers.filter((x) => x.batchNorm)) {
      const b = l.batchNorm!;
      l.mean.forEach((m, c) => {
        const expected = (b.gamma?.[c] ?? 1) * b.shift[c]! + (b.beta?.[c] ?? 0);
        expect(Math.abs(m! - expected)).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected)));
      });
    }
  });

  it("gives the last layer the mean of the model's own predictions", () => {
    const predicted = tf.tidy(() =>
      (model.predict(tf.tensor(images.flat(), [4, SIDE, SIDE, 3])) as tf.Tensor)
        .mean(0)
        .arraySync(),
    ) as number[];
    const last = result.layers[result.layers.length - 1];
    predicted.forEach((p, c) => expect(last.mean[c]).toBeCloseTo(p, 5));
  });

  it('leaves no tensor behind', () => {
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('lists the 52 BN layers with their weights without running the model', async () => {
    const listed = await listBatchNormLayers(model);
    expect(listed.map((l) => l.name)).toEqual(
      result.layers.filter((l) => l.batchNorm).map((l) => l.name),
    );
    expect(listed.every((l) => l.params.movingMean.length === l.params.movingVariance.length)).toBe(
      true,
    );
  });
});
