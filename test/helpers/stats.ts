// Loads fixture models for the statistics tests and runs the statistics on plain rows.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkArtifacts } from '../../src/models/artifacts.js';
import { loadModel } from '../../src/models/tf-model.js';
import {
  computeActivationStats,
  type ActivationStatsOptions,
  type ActivationStatsResult,
} from '../../src/stats/activation-stats.js';
import type { ActivationProbe } from '../../src/stats/probe.js';
import { modelFiles } from './fixtures.js';

export async function loadFixtureModel(folder: string): Promise<tf.LayersModel> {
  const files = modelFiles(folder);
  return (await loadModel(checkArtifacts(files.modelJson, files.weights))) as tf.LayersModel;
}

/** Float32 weights of a fixture model by name, read straight from its weight file. */
export function readWeights(folder: string): Map<string, number[]> {
  const json = JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8'));
  const out = new Map<string, number[]>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p: string) => readFileSync(path.join(folder, p))));
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    let offset = 0;
    for (const spec of group.weights) {
      const size = spec.shape.reduce((a: number, b: number) => a * b, 1);
      out.set(spec.name, Array.from(floats.subarray(offset, offset + size)));
      offset += size;
    }
  }
  return out;
}

export function runStats(
  probe: ActivationProbe,
  rows: number[][],
  options: Partial<ActivationStatsOptions> = {},
): Promise<ActivationStatsResult> {
  const rowSize = rows[0].length;
  return computeActivationStats(probe, {
    rowSize,
    sampleCount: rows.length,
    readRows: (start, count, into) => {
      for (let r = 0; r < count; r++) into.set(rows[start + r], r * rowSize);
    },
    histogramBins: 30,
    driftThreshold: 2,
    batchValueBudget: 1 << 24,
    maxBatchRows: 4096,
    ...options,
  });
}

/** Population mean and variance of each column, in float64. */
export function columnMoments(rows: number[][]): { mean: number[]; variance: number[] } {
  const n = rows.length;
  const mean = rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
  const variance = mean.map((m, j) => rows.reduce((s, r) => s + (r[j] - m) ** 2, 0) / n);
  return { mean, variance };
}
