// What the images ship: the built dist with production dependencies only (npm ci --omit=dev in a
// copy of the project) starts as API and as worker, answers its probes and serves metrics.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextSources, parseDockerfile } from '../helpers/dockerfile.js';
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
  // Exactly what the cpu image takes from the build context: its dependency stage's files and
  // its own (package.json, the contract and the GraphQL schema), then the built dist.
  const stages = parseDockerfile(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const copied = new Set(
    ['cpu-deps', 'cpu'].flatMap((name) => contextSources(stages.find((s) => s.name === name)!)),
  );
  expect([...copied]).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
  for (const source of copied) {
    await cp(path.join(ROOT, source), path.join(copyDir, source), { recursive: true });
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
  it('holds no package that only development needs', async () => {
    // The lockfile marks every package reachable only from devDependencies with `dev`, or with
    // `devOptional` when optional dependencies reach it too (the image omits both).
    const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([key, e]) => (e.dev || e.devOptional) && key.lastIndexOf('node_modules/') === 0)
      .map(([key]) => key.slice('node_modules/'.length));
    expect(devOnly).toEqual(expect.arrayContaining(['vitest', 'typescript', 'pino-pretty']));
    const present = devOnly.filter((name) => existsSync(path.join(copyDir, 'node_modules', name)));
    expect(present).toEqual([]);
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
