// Methods run in a method thread, against the model in the calling thread: the same numbers as
// running them in place, errors that keep their code, and cancellation between model calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import { GlassboxError } from '../../src/errors.js';
import type { ExplanationPayload } from '../../src/jobs/queue.js';
import { createLocalCompute, type ExplanationCompute } from '../../src/worker/compute.js';
import { createMethodHost } from '../../src/worker/method-host.js';
import { fixtureData } from '../helpers/fixtures.js';
import { storeFixtureModels, type FixtureStore } from '../helpers/model-store.js';

const data = fixtureData('wine');
let fixtures: FixtureStore;
let inPlace: ExplanationCompute;
let threaded: ExplanationCompute;

beforeAll(async () => {
  fixtures = await storeFixtureModels(['wine']);
  const options = { batchRows: 4096, cacheBytes: 1 << 26 };
  inPlace = createLocalCompute(fixtures.store, options);
  threaded = createLocalCompute(fixtures.store, { ...options, methods: createMethodHost() });
}, 60_000);

afterAll(async () => {
  await inPlace?.close();
  await threaded?.close();
  await fixtures?.remove();
});

function payload(
  method: ExplanationPayload['method'],
  params: Partial<ExplanationPayload['params']> = {},
): ExplanationPayload {
  return {
    tenant: OPEN_TENANT,
    modelId: fixtures.ids.wine,
    method,
    instances: data.instances.slice(0, 3),
    background: data.background.slice(0, 30),
    params: {
      nsamples: 200,
      link: 'identity',
      seed: 5,
      outputs: 'all',
      l1Features: null,
      ...params,
    },
  };
}

const CASES: [ExplanationPayload['method'], Partial<ExplanationPayload['params']>][] = [
  ['kernel_shap', {}],
  ['sampling_shap', { nsamples: 6 }],
  ['exact_shap', {}],
  [
    'lime',
    {
      lime: {
        numSamples: 300,
        featureSelection: 'auto',
        discretizer: 'quartile',
        categorical: [],
      },
    },
  ],
  [
    'permutation_importance',
    { permutation: { labels: data.labels.slice(0, 3), metric: 'accuracy', nRepeats: 3 } },
  ],
];

describe('a method thread', () => {
  it.each(CASES)('computes %s to the same numbers as in place', async (method, params) => {
    const fractions: number[] = [];
    const here = await inPlace.explain(payload(method, params), () => undefined);
    const there = await threaded.explain(payload(method, params), (f) => fractions.push(f));
    expect({ ...there.result, computeMs: 0 }).toEqual({ ...here.result, computeMs: 0 });
    expect(there.result.modelEvaluations).toBeGreaterThan(0);
    expect(there.tensorDelta).toBe(0);
    expect(fractions.length).toBeGreaterThan(0);
    expect(fractions.every((f) => f > 0 && f < 1)).toBe(true);
  }, 60_000);

  it('passes a method\'s error back with its code', async () => {
    const tooWide = payload('kernel_shap', { outputs: [7] });
    const failure = await threaded.explain(tooWide, () => undefined).catch((err) => err);
    const expected = await inPlace.explain(tooWide, () => undefined).catch((err) => err);
    expect(expected).toBeInstanceOf(GlassboxError);
    expect(failure).toBeInstanceOf(GlassboxError);
    expect((failure as GlassboxError).code).toBe((expected as GlassboxError).code);
    expect((failure as Error).message).toBe((expected as Error).message);
  }, 60_000);

  it('stops at the next model call once cancelled, and takes the next job', async () => {
    let calls = 0;
    const cancelled = threaded.explain(
      payload('kernel_shap', { nsamples: 2000 }),
      () => undefined,
      async () => {
        if (++calls > 2) throw new Error('job cancelled');
      },
    );
    await expect(cancelled).rejects.toThrow('job cancelled');
    const after = await threaded.explain(payload('kernel_shap'), () => undefined);
    const reference = await inPlace.explain(payload('kernel_shap'), () => undefined);
    expect(after.result.values).toEqual(reference.result.values);
  }, 60_000);
});
