// What the images ship: the built dist with production dependencies only (npm ci --omit=dev in a
// copy of the project) starts as API and as worker, answers its probes and serves metrics.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startProcess, type ServiceProcess } from '../helpers/processes.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';

const run = promisify(execFile);
let copyDir: string;
let api: ServiceProcess;
let worker: ServiceProcess;
let apiAddress: string;
let workerAddress: string;

/** A port nothing listens on: bound once to learn a free number, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function healthcheckExitCode(env: Record<string, string>): Promise<number> {
  try {
    await run(process.execPath, ['dist/healthcheck.js'], {
      cwd: copyDir,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', ...env },
    });
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

beforeAll(async () => {
  const redisUrl = await requireRedis();
  copyDir = await mkdtemp(path.join(os.tmpdir(), 'gbx-prod-'));
  for (const file of ['package.json', 'package-lock.json']) {
    await cp(path.join(ROOT, file), path.join(copyDir, file));
  }
  // The same install as the cpu image, served from the local npm cache where it can be.
  await run(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--omit=optional',
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: copyDir, timeout: 240_000 },
  );
  await cp(path.join(ROOT, 'dist'), path.join(copyDir, 'dist'), { recursive: true });

  const env = {
    REDIS_URL: redisUrl,
    STORE_DIR: path.join(copyDir, 'data'),
    QUEUE_PREFIX: uniquePrefix('prod'),
    HOST: '127.0.0.1',
    PORT: '0',
    TFJS_BACKEND: 'wasm',
  };
  api = startProcess('api', env, copyDir);
  worker = startProcess('worker', env, copyDir);
  apiAddress = (await api.waitFor((l) => l.msg === 'api listening')).address as string;
  workerAddress = (await worker.waitFor((l) => l.msg === 'worker metrics listening'))
    .address as string;
}, 300_000);

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()]);
  if (copyDir) await rm(copyDir, { recursive: true, force: true });
});

describe('a production install', () => {
  it('holds no development dependency', async () => {
    const { devDependencies } = JSON.parse(
      await readFile(path.join(ROOT, 'package.json'), 'utf8'),
    ) as {
      devDependencies: Record<string, string>;
    };
    const installed = new Set(await readdir(path.join(copyDir, 'node_modules')));
    // Type packages are left out: @tensorflow/tfjs-data depends on @types/node at run time.
    const checked = Object.keys(devDependencies).filter((name) => !name.startsWith('@types/'));
    expect(checked).toContain('vitest');
    expect(checked).toContain('pino-pretty');
    for (const name of checked) expect(installed.has(name), name).toBe(false);
  });

  it('starts the API, which is live and ready and serves its metrics', async () => {
    expect((await request(apiAddress).get('/health/live')).status).toBe(200);
    const ready = await request(apiAddress).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { redis: 'ok', store: 'ok' } });
    const metrics = await request(apiAddress).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain(
      'glassbox_http_requests_total{method="GET",route="/health/ready",status="200"} 1',
    );
  });

  it('starts a worker whose own server reports the backend it loaded', async () => {
    const ready = await request(workerAddress).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ redis: 'ok', store: 'ok', backend: 'ok' });
    const metrics = await request(workerAddress).get('/metrics');
    expect(metrics.text).toContain('glassbox_tfjs_backend_info{backend="wasm"} 1');
    expect(metrics.text).toMatch(/^glassbox_queue_jobs\{state="waiting"\} 0$/m);
  });

  it('passes the container probe on the API or the worker port, and fails on neither', async () => {
    const apiPort = new URL(apiAddress).port;
    const workerPort = new URL(workerAddress).port;
    const closed = String(await closedPort());
    expect(await healthcheckExitCode({ PORT: apiPort, WORKER_METRICS_PORT: closed })).toBe(0);
    expect(await healthcheckExitCode({ PORT: closed, WORKER_METRICS_PORT: workerPort })).toBe(0);
    expect(await healthcheckExitCode({ PORT: closed, WORKER_METRICS_PORT: closed })).toBe(1);
  });
});
