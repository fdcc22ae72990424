// Submits jobs and polls them over REST until they reach a state the test waits for.
import type { Server } from 'node:http';
import request from 'supertest';
import { expect } from 'vitest';
import { fixtureData } from './fixtures.js';

export type JobBody = Record<string, any>;

/** Completed or failed: the job will not change again. */
export const isDone = (job: JobBody): boolean =>
  job.status === 'completed' || job.status === 'failed';

/** Ended in any way, cancelled included. */
export const isFinished = (job: JobBody): boolean =>
  ['completed', 'failed', 'cancelled'].includes(job.status);

/**
 * A KernelSHAP request on breast-cancer long enough to be seen running and stopped when the
 * service runs small batches: 5 instances × 16,384 coalitions × 100 background rows (with
 * BATCH_ROWS 500, about 16,000 model calls).
 */
export function longKernelShapBody(modelId: string, seed: number): Record<string, unknown> {
  const data = fixtureData('breast-cancer');
  return {
    modelId,
    method: 'kernel_shap',
    instances: data.instances.slice(0, 5),
    background: data.background.slice(0, 100),
    params: { nsamples: 16_384, seed },
  };
}

/**
 * Reads `location` every 100 ms until `until` holds for the job.
 * @param target - a base URL or an in-process server.
 * @throws Error when the job does not get there within `timeoutMs`.
 */
export async function pollJob(
  target: string | Server,
  location: string,
  until: (job: JobBody) => boolean = isDone,
  timeoutMs = 60_000,
): Promise<JobBody> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    const res = await request(target).get(location);
    if (until(res.body)) return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${location} did not reach the expected state in ${timeoutMs} ms`);
}

/**
 * Submits an explanation request, expects it queued (202), and polls its job until it is done.
 * @param target - a base URL or an in-process server with a worker taking jobs.
 * @returns the job, completed or failed.
 */
export async function explainAndPoll(
  target: string | Server,
  body: object,
  timeoutMs = 60_000,
): Promise<JobBody> {
  const submitted = await request(target).post('/v1/explanations').send(body);
  expect(submitted.status).toBe(202);
  return pollJob(target, submitted.headers.location, isDone, timeoutMs);
}

/** Coalitions per instance of the probe job that `nsamplesLasting` times. */
const PROBE_NSAMPLES = 4096;
/** The most coalitions the service accepts per instance by default (`MAX_NSAMPLES`). */
const MAX_NSAMPLES = 200_000;

/**
 * Coalitions per instance that make a KernelSHAP job of `instances` (against `background`) take
 * about `targetMs` of compute on this machine, from one probe job of the same shape through the
 * service. Tests that need a job still running at some moment size it by this, so that a fast
 * machine does not finish it too soon nor a slow one take minutes; nothing asserts its time.
 * @param target - a base URL or an in-process server with a worker taking jobs.
 * @returns the coalitions, and the id of the probe job (completed, its result stored).
 */
export async function nsamplesLasting(
  target: string | Server,
  modelId: string,
  instances: number[][],
  background: number[][],
  targetMs: number,
): Promise<{ nsamples: number; probeJobId: string }> {
  const submitted = await request(target)
    .post('/v1/explanations')
    .send({
      modelId,
      method: 'kernel_shap',
      instances,
      background,
      params: { nsamples: PROBE_NSAMPLES, seed: 1 },
    });
  if (submitted.status !== 202) throw new Error(`probe job refused: ${submitted.status}`);
  const probe = await pollJob(target, submitted.headers.location, isDone, 120_000);
  if (probe.status !== 'completed') throw new Error(`probe job ${probe.status}`);
  const computeMs = Math.max(1, probe.result.computeMs as number);
  const scaled = Math.round((PROBE_NSAMPLES * targetMs) / computeMs);
  const nsamples = Math.min(MAX_NSAMPLES, Math.max(PROBE_NSAMPLES, scaled));
  return { nsamples, probeJobId: submitted.body.id as string };
}
