// Helpers the bench sections share: timing, medians, fixtures, workers, the service's processes.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { QueueEvents, type Queue } from 'bullmq';
import { OPEN_TENANT } from '../src/auth/principal.js';
import { loadConfig } from '../src/config/index.js';
import {
  createJobQueue,
  createRedis,
  QUEUE_NAME,
  type ExplanationPayload,
} from '../src/jobs/queue.js';
import { ResultStore } from '../src/jobs/result-store.js';
import { createLogger } from '../src/log/logger.js';
import { startWorker, type RunningWorker } from '../src/worker/worker.js';
import { fixtureData, fixtureModelDir, modelFiles } from '../test/helpers/fixtures.js';
import { storeFixtureModels, type FixtureStore } from '../test/helpers/model-store.js';
import { startProcess, type ServiceProcess } from '../test/helpers/processes.js';
import { requireRedis, uniquePrefix } from '../test/helpers/redis.js';

/** Each measurement is taken this many times and the median reported: the machine is shared. */
export const REPEATS = 5;

/** One line of the report: a figure, its unit and, where the issue sets one, its target. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  target?: string;
  detail?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * CPU time (user and system, every thread) a process has used, from /proc; null where there is
 * no /proc. Resolution is the kernel's clock tick, usually 10 ms.
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** USER_HZ: Linux reports process times in these ticks on every common platform. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Wall time of `fn` in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Runs `fn` REPEATS times and returns each wall time in milliseconds. */
export async function timeRepeated(fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) times.push(await timeMs(fn));
  return times;
}

export function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function printFigures(title: string, figures: Figure[]): void {
  write(`\n## ${title}`);
  for (const f of figures) {
    const target = f.target ? `  (target ${f.target})` : '';
    const detail = f.detail ? `  [${f.detail}]` : '';
    write(`  ${f.name}: ${round(f.value)} ${f.unit}${target}${detail}`);
  }
}

export function round(value: number): string {
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/** A private store folder and queue prefix for one section. */
export interface BenchEnv {
  storeDir: string;
  env: Record<string, string>;
  remove(): Promise<void>;
}

export async function benchEnv(
  label: string,
  extra: Record<string, string> = {},
): Promise<BenchEnv> {
  const redisUrl = await requireRedis();
  const storeDir = await mkdtemp(path.join(os.tmpdir(), `gbx-bench-${label}-`));
  return {
    storeDir,
    env: {
      REDIS_URL: redisUrl,
      STORE_DIR: storeDir,
      QUEUE_PREFIX: `{${uniquePrefix(`bench-${label}`)}}`,
      LOG_LEVEL: 'warn',
      ...extra,
    },
    remove: () => rm(storeDir, { recursive: true, force: true }),
  };
}

/** A worker in this process on a private queue, and the queue and its events to feed it. */
export interface InProcessWorker {
  /** The fixture models the worker reads, stored as tenant `default`. */
  fixtures: FixtureStore;
  worker: RunningWorker;
  queue: Queue;
  events: QueueEvents;
  /** Stops the worker, empties and closes the queue, and removes the store. */
  close(): Promise<void>;
}

/**
 * Stores the fixture models `names`, starts a worker on them with `extra` settings and logs at
 * `logLevel`, and waits until it and the queue events are ready.
 */
export async function startInProcessWorker(
  label: string,
  names: string[],
  extra: Record<string, string> = {},
  logLevel = 'silent',
): Promise<InProcessWorker> {
  const fixtures = await storeFixtureModels(names);
  const bench = await benchEnv(label, { STORE_DIR: fixtures.dir, ...extra });
  const config = loadConfig(bench.env);
  const results = new ResultStore(config.storeDir);
  await results.init();
  const connection = createRedis(config, true);
  const producer = createRedis(config, false);
  const queue = createJobQueue(config, producer);
  const events = new QueueEvents(QUEUE_NAME, {
    connection: createRedis(config, true),
    prefix: config.QUEUE_PREFIX,
  });
  const worker = startWorker({
    config,
    logger: createLogger(logLevel),
    connection,
    models: fixtures.store,
    results,
  });
  const close = async () => {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await Promise.all([connection.quit(), producer.quit()]);
    await fixtures.remove();
    await bench.remove();
  };
  try {
    await worker.ready;
    await events.waitUntilReady();
  } catch (err) {
    await close();
    throw err;
  }
  return { fixtures, worker, queue, events, close };
}

/** Starts `node dist/main.js <mode>` and waits until it is up. */
export async function startService(mode: 'api' | 'worker' | 'all', env: Record<string, string>) {
  const service: ServiceProcess = startProcess(mode, { PORT: '0', ...env, LOG_LEVEL: 'info' });
  if (mode === 'worker') {
    await service.waitFor((l) => l.msg === 'worker started', 120_000);
    return { service, baseUrl: '' };
  }
  const listening = await service.waitFor((l) => l.msg === 'api listening', 120_000);
  if (mode === 'all') await service.waitFor((l) => l.msg === 'worker started', 120_000);
  return { service, baseUrl: listening.address as string };
}

/** Uploads a fixture model over HTTP; returns its id. */
export async function uploadFixture(baseUrl: string, name: string): Promise<string> {
  const files = modelFiles(fixtureModelDir(name));
  const data = fixtureData(name);
  const form = new FormData();
  form.append('model', new Blob([files.modelJson]), 'model.json');
  for (const [file, bytes] of files.weights)
    form.append('weights', new Blob([new Uint8Array(bytes)]), file);
  form.append(
    'metadata',
    JSON.stringify({ featureNames: data.featureNames, outputNames: data.outputNames }),
  );
  const res = await fetch(`${baseUrl}/v1/models`, { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Submits a request and polls every `pollMs` until the job finishes; returns the job. */
export async function explainOverHttp(
  baseUrl: string,
  body: Omit<ExplanationPayload, 'params' | 'tenant'> & { params: Record<string, unknown> },
  pollMs = 20,
): Promise<Record<string, any>> {
  const res = await fetch(`${baseUrl}/v1/explanations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`submission failed: ${res.status} ${await res.text()}`);
  const location = res.headers.get('location');
  for (;;) {
    const job = (await (await fetch(`${baseUrl}${location}`)).json()) as Record<string, any>;
    if (job.status === 'completed') return job;
    if (job.status === 'failed') throw new Error(`job failed: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The breast-cancer request the sections share: its first instances, 100 background rows. */
export function breastCancerRequest(
  modelId: string,
  instanceCount: number,
  seed = 1,
  nsamples: number | 'auto' = 'auto',
) {
  const data = fixtureData('breast-cancer');
  return {
    modelId,
    method: 'kernel_shap' as const,
    instances: data.instances.slice(0, instanceCount),
    background: data.background.slice(0, 100),
    params: {
      nsamples,
      link: 'identity' as const,
      seed,
      outputs: 'all' as const,
    },
  };
}

/** The same request as a worker's payload, for the tenant fixtures are stored under. */
export function breastCancerPayload(
  modelId: string,
  instanceCount: number,
  seed = 1,
  nsamples: number | 'auto' = 'auto',
): ExplanationPayload {
  const request = breastCancerRequest(modelId, instanceCount, seed, nsamples);
  return { tenant: OPEN_TENANT, ...request, params: { ...request.params, l1Features: null } };
}
