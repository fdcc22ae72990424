// The model cache keeps models within a byte budget of weights, dropping the least recently used.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import { selectBackend } from '../../src/tf/backend.js';
import { loadedWeightBytes, ModelCache, type ModelSource } from '../../src/worker/model-cache.js';
import { storeFixtureModels, type FixtureStore } from '../helpers/model-store.js';

// Weights by hand from the fixture networks (float32, 4 bytes a value): dense 30→16→1;
// dense 13→16→3; the same after a batch normalization of 13 features (4 vectors of 13).
const BREAST_CANCER_BYTES = (30 * 16 + 16 + 16 + 1) * 4;
const WINE_BYTES = (13 * 16 + 16 + 16 * 3 + 3) * 4;
const WINE_BN_BYTES = WINE_BYTES + 4 * 13 * 4;

let fixtures: FixtureStore;
const TENANT = OPEN_TENANT;
/** The cache's key of a model of the fixtures' tenant. */
const key = (id: string) => `${TENANT}/${id}`;

beforeAll(async () => {
  await selectBackend('wasm');
  fixtures = await storeFixtureModels(['breast-cancer', 'wine', 'wine-bn']);
});
afterAll(async () => fixtures?.remove());

/** Counts reads, so that a test sees which models were loaded again. */
function countingSource(): ModelSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    get: (tenant, id) => fixtures.store.get(tenant, id),
    readArtifacts: (tenant, id) => {
      reads.push(id);
      return fixtures.store.readArtifacts(tenant, id);
    },
  };
}

describe('ModelCache', () => {
  it('counts the bytes of the weights once loaded', async () => {
    const { ids, store } = fixtures;
    expect(loadedWeightBytes(await store.readArtifacts(TENANT, ids['breast-cancer']))).toBe(
      BREAST_CANCER_BYTES,
    );
    expect(loadedWeightBytes(await store.readArtifacts(TENANT, ids.wine))).toBe(WINE_BYTES);
    const wineBn = await store.readArtifacts(TENANT, ids['wine-bn']);
    expect(loadedWeightBytes(wineBn)).toBe(WINE_BN_BYTES);
  });

  it('evicts the least recently used model when the bytes exceed the budget', async () => {
    const { ids } = fixtures;
    const source = countingSource();
    const tensorsBefore = tf.memory().numTensors;
    // Room for both wine models together (2408 bytes), not for breast-cancer beside either.
    const budget = 2700;
    const cache = new ModelCache(source, budget);
    expect(WINE_BYTES + WINE_BN_BYTES).toBeLessThanOrEqual(budget);
    expect(BREAST_CANCER_BYTES + WINE_BYTES).toBeGreaterThan(budget);

    await cache.get(TENANT, ids.wine);
    await cache.get(TENANT, ids['wine-bn']);
    expect(cache.keys()).toEqual([key(ids.wine), key(ids['wine-bn'])]);
    expect(cache.bytes).toBe(WINE_BYTES + WINE_BN_BYTES);
    await cache.get(TENANT, ids.wine);
    expect(cache.keys()).toEqual([key(ids['wine-bn']), key(ids.wine)]);

    await cache.get(TENANT, ids['breast-cancer']);
    expect(cache.keys()).toEqual([key(ids['breast-cancer'])]);
    expect(cache.bytes).toBe(BREAST_CANCER_BYTES);

    await cache.get(TENANT, ids.wine);
    expect(cache.keys()).toEqual([key(ids.wine)]);
    expect(source.reads).toEqual([ids.wine, ids['wine-bn'], ids['breast-cancer'], ids.wine]);

    await cache.clear();
    expect(cache.bytes).toBe(0);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('keeps a model larger than the budget for the job that asked for it', async () => {
    const cache = new ModelCache(countingSource(), 10);
    const cached = await cache.get(TENANT, fixtures.ids.wine);
    expect(cached?.record.id).toBe(fixtures.ids.wine);
    expect(cache.keys()).toEqual([key(fixtures.ids.wine)]);
    await cache.clear();
  });

  it('finds a model only under the tenant that stored it', async () => {
    const cache = new ModelCache(countingSource());
    expect(await cache.get('another-tenant', fixtures.ids.wine)).toBeNull();
    expect((await cache.get(TENANT, fixtures.ids.wine))?.record.id).toBe(fixtures.ids.wine);
    await cache.clear();
  });

  it('answers null for a model the store does not have', async () => {
    expect(await new ModelCache(countingSource()).get(TENANT, 'missing')).toBeNull();
  });
});
