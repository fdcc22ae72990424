// LIME treats the features a model's metadata names as categorical unless the request names its
// own list, which replaces the model's; a request split into chunk jobs does the same.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_TENANT } from '../../src/auth/principal.js';
import type { ExplanationPayload } from '../../src/jobs/queue.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { computeWhole } from '../helpers/compute.js';
import { asModelFiles, functionalModel } from '../helpers/hostile-models.js';
import { explainAndPoll, type JobBody } from '../helpers/jobs.js';
import { randomRows } from '../helpers/models.js';
import { uploadModel } from '../helpers/upload.js';
import { startTestWorker, type TestWorker } from '../helpers/worker.js';

const FEATURE_NAMES = ['width', 'height', 'colour'];
const COLOUR = 2;
const LIME = { numSamples: 400, seed: 5 };

let t: TestApp;
let worker: TestWorker;
/** The same network stored twice: without categorical features, and with colour as one. */
let plainId: string;
let colourId: string;

/** Rows of two measurements in [-2, 2) and a colour coded 0 to 3. */
function rows(count: number, seed: number): number[][] {
  return randomRows(count, 3, seed).map(([width, height, u]) => [width, height, Math.floor(u + 2)]);
}

const background = rows(40, 11);
const instance = rows(1, 12);

/** Stores the small functional model with `metadata`; returns its id. */
async function storeModel(metadata: Record<string, unknown>): Promise<string> {
  const res = await uploadModel(t.app.server, asModelFiles(functionalModel()), metadata);
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Runs a LIME job through the service and returns it, completed. */
async function limeJob(
  modelId: string,
  instances: number[][],
  params: Record<string, unknown>,
): Promise<JobBody> {
  const job = await explainAndPoll(t.app.server, {
    modelId,
    method: 'lime',
    instances,
    background,
    params,
  });
  expect(job.error).toBeNull();
  expect(job.status).toBe('completed');
  return job;
}

async function limeResult(
  modelId: string,
  instances: number[][],
  params: Record<string, unknown>,
): Promise<JobBody> {
  return (await limeJob(modelId, instances, params)).result;
}

/** The numbers of a LIME result, without its timing. */
function surrogate(result: JobBody) {
  const { intercepts, weights, scores, localPredictions, outputs, kernelWidth } = result;
  return { intercepts, weights, scores, localPredictions, outputs, kernelWidth };
}

beforeAll(async () => {
  t = await buildTestApp({ CHUNK_INSTANCES: '2' });
  worker = await startTestWorker(t);
  plainId = await storeModel({ featureNames: FEATURE_NAMES });
  colourId = await storeModel({ featureNames: FEATURE_NAMES, categoricalFeatures: ['colour'] });
});

afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

describe('LIME on a model with categorical features in its metadata', () => {
  it('treats them as categorical when the request names none', async () => {
    const fromMetadata = await limeResult(colourId, instance, LIME);
    const named = await limeResult(plainId, instance, { ...LIME, categorical: ['colour'] });
    const numeric = await limeResult(plainId, instance, LIME);

    expect(surrogate(fromMetadata)).toEqual(surrogate(named));
    expect(fromMetadata.weights[0][COLOUR][0]).not.toBe(numeric.weights[0][COLOUR][0]);
    expect(fromMetadata.intercepts).not.toEqual(numeric.intercepts);
  });

  it("replaces the model's list with the request's, an empty one too", async () => {
    const emptied = await limeResult(colourId, instance, { ...LIME, categorical: [] });
    const numeric = await limeResult(plainId, instance, LIME);
    expect(surrogate(emptied)).toEqual(surrogate(numeric));

    const widthOnly = await limeResult(colourId, instance, { ...LIME, categorical: ['width'] });
    const widthOnPlain = await limeResult(plainId, instance, { ...LIME, categorical: [0] });
    const widthAndColour = await limeResult(plainId, instance, {
      ...LIME,
      categorical: ['width', 'colour'],
    });
    expect(surrogate(widthOnly)).toEqual(surrogate(widthOnPlain));
    expect(widthOnly.weights[0][COLOUR][0]).not.toBe(widthAndColour.weights[0][COLOUR][0]);
  });

  it('carries them into every chunk of a split request', async () => {
    const instances = rows(5, 13);
    const job = await limeJob(colourId, instances, LIME);
    // CHUNK_INSTANCES 2: chunks of 2, 2 and 1 instances.
    const lastChunk = await request(t.app.server).get(`/v1/jobs/${job.id}-chunk-2`);
    expect(lastChunk.body).toMatchObject({ type: 'explanation-chunk', status: 'completed' });

    const whole = async (categorical: number[]) => {
      const payload: ExplanationPayload = {
        tenant: OPEN_TENANT,
        modelId: colourId,
        method: 'lime',
        instances,
        background,
        params: {
          nsamples: 'auto',
          link: 'identity',
          seed: LIME.seed,
          outputs: 'all',
          l1Features: null,
          lime: {
            numSamples: LIME.numSamples,
            featureSelection: 'auto',
            discretizer: 'none',
            categorical,
          },
        },
      };
      return (await computeWhole(t.ctx.models, payload)) as JobBody;
    };
    expect(surrogate(job.result)).toEqual(surrogate(await whole([COLOUR])));
    expect(job.result.weights).not.toEqual((await whole([])).weights);
  });
});
