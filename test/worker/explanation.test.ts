// The worker's per-method dispatch on the real wine network, results checked against the oracle.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExplanationPayload } from '../../src/jobs/queue.js';
import type { ModelRecord } from '../../src/models/store.js';
import { runExplanation } from '../../src/worker/explanation.js';
import type { CachedModel } from '../../src/worker/model-cache.js';
import { fixtureData, fixtureOracle } from '../helpers/fixtures.js';
import { loadFixtureModel } from '../helpers/tf-fixture.js';

const data = fixtureData('wine');
const oracle = fixtureOracle('wine', 'exact-shap-identity.json');
let cached: CachedModel;

beforeAll(async () => {
  const { model } = await loadFixtureModel('wine');
  const record = {
    id: 'wine',
    featureNames: data.featureNames,
    outputNames: data.outputNames,
    inputs: [{ name: 'input', shape: [null, 13] }],
    featureCount: 13,
    outputCount: 3,
  } as unknown as ModelRecord;
  cached = { record, model };
});

interface ShapleyFields {
  outputIndices: number[][];
  baseValues: number[];
  outputs: number[][];
  values: number[][][];
  errors?: number[][][];
  seed: number;
  modelEvaluations: number;
  computeMs: number;
}

async function run(
  method: ExplanationPayload['method'],
  params: Partial<ExplanationPayload['params']>,
): Promise<ShapleyFields & Record<string, unknown>> {
  const payload: ExplanationPayload = {
    tenant: 'default',
    modelId: 'wine',
    method,
    instances: data.instances.slice(0, 3),
    background: data.background.slice(0, 40),
    params: {
      nsamples: 'auto',
      link: 'identity',
      seed: 7,
      outputs: 'all',
      l1Features: null,
      ...params,
    },
  };
  const result = await runExplanation({
    payload,
    cached,
    batchRows: 65_536,
    exactMaxFeatures: 16,
    sliceTargetMs: 1000,
    onProgress: () => {},
  });
  return result as unknown as ShapleyFields & Record<string, unknown>;
}

describe('runExplanation', () => {
  it('reports the top output per instance, with outputIndices and additivity', async () => {
    const result = await run('exact_shap', { outputs: 'top' });
    expect(result.outputIndices).toEqual(
      data.instances.slice(0, 3).map((_, i) => {
        const row = oracle.outputs[i];
        return [row.indexOf(Math.max(...row))];
      }),
    );
    result.values.forEach((phi, i) => {
      expect(phi.every((v) => v.length === 1)).toBe(true);
      const total = phi.reduce((s, v) => s + v[0], 0);
      const base = result.baseValues[result.outputIndices[i][0]];
      expect(Math.abs(base + total - result.outputs[i][0])).toBeLessThan(1e-9);
    });
    expect(result.errors).toBeUndefined();
    expect(result.modelEvaluations).toBe(40 + 3 + 3 * 8192 * 40);
    expect(result.computeMs).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('keeps explicit outputs in order and reports errors for sampling methods', async () => {
    for (const method of ['kernel_shap', 'sampling_shap'] as const) {
      const all = await run(method, { nsamples: 64 });
      const picked = await run(method, { nsamples: 64, outputs: [2] });
      expect(picked.outputIndices).toEqual([[2], [2], [2]]);
      expect(picked.values).toEqual(all.values.map((phi) => phi.map((v) => [v[2]])));
      expect(picked.errors).toEqual(all.errors!.map((phi) => phi.map((v) => [v[2]])));
      expect(picked.seed).toBe(7);
    }
  }, 60_000);

  it('runs lime with the shared output axis', async () => {
    const result = await run('lime', {
      outputs: [1],
      lime: {
        numSamples: 500,
        featureSelection: 'none',
        discretizer: 'none',
        categorical: [],
      },
    });
    expect(result.outputIndices).toEqual([[1], [1], [1]]);
    expect((result.weights as number[][][])[0]).toHaveLength(13);
    expect((result.scores as number[][])[0]).toHaveLength(1);
    expect(result.outputs.map((row) => row[0])).toEqual(
      oracle.outputs.slice(0, 3).map((row) => expect.closeTo(row[1], 6)),
    );
    expect(result.modelEvaluations).toBe(1500);
  }, 60_000);

  it('runs permutation importance against the fixture labels', async () => {
    const result = await run('permutation_importance', {
      permutation: { labels: data.labels.slice(0, 3), metric: 'accuracy', nRepeats: 2 },
    });
    // The network classifies every wine test row correctly.
    expect(result.baselineScore).toBe(1);
    expect(result.importances as unknown[]).toHaveLength(13);
    expect(result.modelEvaluations).toBe(3 * (1 + 13 * 2));
  }, 60_000);

  it('summarizes the background before a Shapley method when asked', async () => {
    const result = await run('exact_shap', { backgroundSummary: { summarize: 'kmeans', size: 4 } });
    // 4 weighted centroids instead of 40 rows: 4 rows for the base value, 3 instances, then
    // 2^13 coalitions of 4 rows for each instance.
    expect(result.modelEvaluations).toBe(4 + 3 + 3 * 8192 * 4);
    result.values.forEach((phi, i) => {
      const total = phi.reduce((s, v) => s + v[0], 0);
      expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-9);
    });
  }, 60_000);
});
