// Polls a job over REST until it reaches a state the test waits for.
import type { Server } from 'node:http';
import request from 'supertest';

export type JobBody = Record<string, any>;

/** Completed or failed: the job will not change again. */
export const isDone = (job: JobBody): boolean =>
  job.status === 'completed' || job.status === 'failed';

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
