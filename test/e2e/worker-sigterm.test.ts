// SIGTERM on a worker with a job running: past a short grace period it hands the job back and
// exits 0; no job is left active, and another worker completes it exactly once.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureData } from '../helpers/fixtures.js';
import type { ServiceProcess } from '../helpers/processes.js';
import { startServiceCluster, type ServiceCluster } from '../helpers/service-cluster.js';
import { isDone, pollJob, type JobBody } from '../helpers/jobs.js';

let cluster: ServiceCluster;
let baseUrl: string;
let storeDir: string;

beforeAll(async () => {
  cluster = await startServiceCluster('sigterm', {
    JOB_LOCK_DURATION_MS: '4000',
    JOB_STALLED_INTERVAL_MS: '1000',
    SHUTDOWN_GRACE_MS: '300',
  });
  ({ baseUrl, storeDir } = cluster);
});

afterAll(async () => cluster?.close());

const startWorker = () => cluster.startWorker();

async function submitLongJob(): Promise<string> {
  const data = fixtureData('breast-cancer');
  const modelId = await cluster.uploadModel();
  // 5 instances (one job, not split) × 65,536 coalitions × 100 background rows: about
  // 33 million model rows, seconds of compute, far longer than the grace period.
  const job = await request(baseUrl)
    .post('/v1/explanations')
    .send({
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 5),
      background: data.background,
      params: { nsamples: 65_536, seed: 5 },
    });
  expect(job.status).toBe(202);
  return job.body.id;
}

const poll = (jobId: string, until: (job: JobBody) => boolean) =>
  pollJob(baseUrl, `/v1/jobs/${jobId}`, until, 120_000);

const linesFor = (worker: ServiceProcess, jobId: string, msg: string) =>
  worker.lines.filter((l) => l.includes(`"${msg}"`) && l.includes(jobId));

describe('a worker stopped with SIGTERM mid-job', () => {
  it('hands the job back, exits 0, and another worker completes it once', async () => {
    const first = await startWorker();
    const jobId = await submitLongJob();
    await poll(jobId, (j) => j.status === 'running' && j.progress > 0.05);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(linesFor(first, jobId, 'job handed back')).toHaveLength(1);

    // Handed back, not left active: it waits for the next worker, with no attempt used up.
    const waiting = await poll(jobId, (j) => j.status !== 'running');
    expect(waiting.status).toBe('queued');

    const second = await startWorker();
    const done = await poll(jobId, isDone);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);
    expect(linesFor(first, jobId, 'job completed')).toHaveLength(0);
    expect(linesFor(second, jobId, 'job completed')).toHaveLength(1);
    const files = (await readdir(path.join(storeDir, 'results'))).filter((f) =>
      f.startsWith(jobId),
    );
    expect(files).toEqual([`${jobId}.json`]);
  });
});
