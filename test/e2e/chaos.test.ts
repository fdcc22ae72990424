// Chaos: jobs stream in while worker processes are killed with SIGKILL and replaced, over and
// over. Every accepted job must complete, with one stored result, and no job may run to the end
// twice. CHAOS_JOBS sets the number of jobs (60 here keeps the suite quick; the README gives a
// larger run), CHAOS_KILL_EVERY_MS the pause between kills.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureData } from '../helpers/fixtures.js';
import { nsamplesLasting } from '../helpers/jobs.js';
import type { ServiceProcess } from '../helpers/processes.js';
import { startServiceCluster, type ServiceCluster } from '../helpers/service-cluster.js';

const JOBS = Number(process.env.CHAOS_JOBS ?? 60);
const KILL_EVERY_MS = Number(process.env.CHAOS_KILL_EVERY_MS ?? 2000);
const WORKERS = 2;

let cluster: ServiceCluster;
let baseUrl: string;
let storeDir: string;
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  cluster = await startServiceCluster('chaos', {
    RATE_LIMIT_MAX: '100000',
    // Short locks so that a killed worker's job is taken over within seconds; a job may be taken
    // over as often as the kills demand.
    JOB_LOCK_DURATION_MS: '2000',
    JOB_STALLED_INTERVAL_MS: '1000',
    JOB_MAX_STALLED: '1000',
  });
  ({ baseUrl, storeDir } = cluster);
});

afterAll(async () => cluster?.close());

/** Starts a worker; it joins `workers` (the ones that may be killed) once it takes jobs. */
async function startWorker(): Promise<void> {
  workers.push(await cluster.startWorker());
}

const uploadModel = () => cluster.uploadModel();

/**
 * Compute per job as the probe predicts it: long enough that a kill finds workers mid-job on any
 * machine. Jobs take about half of it, since the probe's time includes fixed costs that a job
 * with more coalitions pays only once.
 */
const JOB_MS = 600;

/** Submits the jobs one after another, each of `nsamples` coalitions. */
async function submitJobs(modelId: string, nsamples: number, ids: string[]): Promise<void> {
  const data = fixtureData('breast-cancer');
  for (let i = 0; i < JOBS; i++) {
    const res = await request(baseUrl)
      .post('/v1/explanations')
      .send({
        modelId,
        method: 'kernel_shap',
        instances: [data.instances[i % data.instances.length]],
        background: data.background,
        params: { nsamples, seed: i },
      });
    expect(res.status).toBe(202);
    ids.push(res.body.id);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function unfinished(ids: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const id of ids) {
    const res = await request(baseUrl).get(`/v1/jobs/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.status).not.toBe('failed');
    if (res.body.status !== 'completed') left.push(id);
  }
  return left;
}

/** Whether the worker's last job line says a job started. */
function midJob(worker: ServiceProcess): boolean {
  const jobLines = worker.lines.filter((l) => l.includes('"jobId"'));
  return jobLines.length > 0 && jobLines[jobLines.length - 1].includes('"job started"');
}

/** What a worker logs when it finds the result of a job it takes over already stored. */
const STORED_BEFORE = 'job result already stored; completing without running it again';

const count = (id: string, msg: string) =>
  cluster.processes.flatMap((w) => w.lines).filter((l) => l.includes(`"${msg}"`) && l.includes(id))
    .length;

describe('workers killed and restarted while jobs stream in', () => {
  it('completes every job exactly once and loses none', { timeout: 600_000 }, async () => {
    await Promise.all(Array.from({ length: WORKERS }, () => startWorker()));
    const modelId = await uploadModel();
    const data = fixtureData('breast-cancer');
    const probe = await nsamplesLasting(
      baseUrl,
      modelId,
      [data.instances[0]],
      data.background,
      JOB_MS,
    );
    // The probe is a job like the others: it too must have one stored result.
    const ids: string[] = [probe.probeJobId];
    let kills = 0;
    const starting: Promise<void>[] = [];
    const submitted = submitJobs(modelId, probe.nsamples, ids);
    let allSubmitted = false;
    void submitted.then(() => (allSubmitted = true));
    for (let round = 0; round < 400; round++) {
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
      if (allSubmitted && (await unfinished(ids)).length === 0) break;
      // Kill a worker in the middle of a job and start its replacement, without waiting for it:
      // kills go on while replacements start, so at times no worker runs at all.
      const victim = workers.find(midJob);
      if (!victim) continue;
      workers.splice(workers.indexOf(victim), 1);
      expect(await victim.stop('SIGKILL')).toBeNull();
      kills++;
      starting.push(startWorker());
    }
    await Promise.all([submitted, ...starting]);
    expect(await unfinished(ids)).toEqual([]);

    // One result per job. A worker killed between writing a result and moving it into place
    // leaves a temporary file, which the result sweep removes once it is old.
    const stored = await readdir(path.join(storeDir, 'results'));
    const files = stored.filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(ids.map((id) => `${id}.json`).sort());
    const temporaries = stored.filter((f) => f.endsWith('.tmp')).length;
    let takenOverAfterStoring = 0;
    for (const id of ids) {
      const ranToEnd = count(id, 'job completed');
      const foundStored = count(id, STORED_BEFORE);
      expect(ranToEnd).toBeLessThanOrEqual(1);
      expect(ranToEnd + foundStored).toBeGreaterThanOrEqual(1);
      takenOverAfterStoring += foundStored;
    }
    const durations = cluster.processes
      .flatMap((w) => w.lines)
      .filter((l) => l.includes('"job completed"'))
      .map((l) => JSON.parse(l).durationMs as number)
      .sort((a, b) => a - b);
    const interrupted = ids.filter((id) => count(id, 'job started') > 1).length;
    const restarts = cluster.processes.length - WORKERS;
    process.stdout.write(
      `chaos: ${ids.length} jobs, ${kills} SIGKILLs, ${restarts} restarts, ` +
        `${interrupted} jobs interrupted and taken over, ${takenOverAfterStoring} found stored, ` +
        `${temporaries} temporaries left, ${ids.length - files.length} lost; ` +
        `median job ${durations[durations.length >> 1]} ms\n`,
    );
    expect(kills).toBeGreaterThan(0);
  });
});
