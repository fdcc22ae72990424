// At-least-once execution: a worker killed with SIGKILL mid-job leaves the job to another worker,
// which completes it; the result is stored once. A short lock makes the hand-over quick, and the
// same kind of short lock shows that a long job keeps its lock while it computes.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureData } from '../helpers/fixtures.js';
import type { ServiceProcess } from '../helpers/processes.js';
import { startServiceCluster, type ServiceCluster } from '../helpers/service-cluster.js';
import { isDone, nsamplesLasting, pollJob, type JobBody } from '../helpers/jobs.js';

const LOCK_MS = 2000;
let cluster: ServiceCluster;
let baseUrl: string;
let storeDir: string;
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  cluster = await startServiceCluster('crash', {
    JOB_LOCK_DURATION_MS: String(LOCK_MS),
    JOB_STALLED_INTERVAL_MS: '1000',
    CHUNK_INSTANCES: '20',
  });
  ({ baseUrl, storeDir } = cluster);
});

afterAll(async () => cluster?.close());

async function startWorker(overrides: Record<string, string> = {}): Promise<ServiceProcess> {
  const worker = await cluster.startWorker(overrides);
  workers.push(worker);
  return worker;
}

/**
 * Submits one KernelSHAP job of `instances` breast-cancer instances (one job: the cluster's
 * chunks hold 20) sized to about `computeMs` of compute on this machine.
 */
async function submitLongJob(instances: number, computeMs: number): Promise<string> {
  const data = fixtureData('breast-cancer');
  const modelId = await cluster.uploadModel();
  const rows = data.instances.slice(0, instances);
  const { nsamples } = await nsamplesLasting(baseUrl, modelId, rows, data.background, computeMs);
  const job = await request(baseUrl)
    .post('/v1/explanations')
    .send({
      modelId,
      method: 'kernel_shap',
      instances: rows,
      background: data.background,
      params: { nsamples, seed: 5 },
    });
  expect(job.status).toBe(202);
  return job.body.id;
}

const completions = (worker: ServiceProcess, jobId: string) =>
  worker.lines.filter((l) => l.includes('"job completed"') && l.includes(jobId)).length;

const poll = (jobId: string, until: (job: JobBody) => boolean) =>
  pollJob(baseUrl, `/v1/jobs/${jobId}`, until, 120_000);

describe('a worker killed mid-job', () => {
  it(
    'leaves the job to another worker, which completes it and stores the result once',
    async () => {
      const first = await startWorker();
      // Long enough to be seen running and killed well before it ends.
      const jobId = await submitLongJob(5, 4000);
      const running = await poll(jobId, (j) => j.status === 'running' && j.progress > 0.05);
      expect(running.progress).toBeLessThan(0.9);
      expect(await first.stop('SIGKILL')).toBeNull();

      const second = await startWorker();
      const done = await poll(jobId, isDone);
      expect(done.status).toBe('completed');
      expect(completions(first, jobId)).toBe(0);
      expect(completions(second, jobId)).toBe(1);

      // Stored once: one result file for the job and no half-written temporary left behind.
      const files = (await readdir(path.join(storeDir, 'results'))).filter((f) =>
        f.startsWith(jobId),
      );
      expect(files).toEqual([`${jobId}.json`]);
      const result = done.result;
      expect(result.values).toHaveLength(5);
      for (let i = 0; i < 5; i++) {
        const total = result.values[i].reduce((s: number, v: number[]) => s + v[0], 0);
        expect(Math.abs(result.baseValues[0] + total - result.outputs[i][0])).toBeLessThan(1e-4);
      }
    },
  );

  it('never lost the lock of a job computing for longer than the lock lasts', async () => {
    // A lock of 4 s (renewed every 2 s) leaves room for a machine busy with other tests; the job,
    // sized to about three locks of compute, runs well past it.
    const lockMs = 4000;
    await workers[workers.length - 1].stop();
    const worker = await startWorker({ JOB_LOCK_DURATION_MS: String(lockMs) });
    const jobId = await submitLongJob(20, 3 * lockMs);
    const done = await poll(jobId, isDone);
    expect(done.status).toBe('completed');
    const line = JSON.parse(
      worker.lines.find((l) => l.includes('"job completed"') && l.includes(jobId))!,
    );
    // The job outlasted its lock, so it lived on renewals alone.
    expect(line.durationMs).toBeGreaterThan(lockMs);
    expect(worker.lines.filter((l) => l.includes('job stalled') && l.includes(jobId))).toEqual([]);
    expect(done.attempts).toBe(1);
    process.stdout.write(
      `event loop max delay during a ${line.durationMs} ms job: ${line.eventLoopMaxDelayMs} ms\n`,
    );
  });
});
