// An API process and worker processes on one private queue and store: the setting of the
// crash, SIGTERM and chaos tests.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { startProcess, type ServiceProcess } from './processes.js';
import { requireRedis, uniquePrefix } from './redis.js';
import { uploadFixtureModel } from './upload.js';

export interface ServiceCluster {
  env: Record<string, string>;
  baseUrl: string;
  storeDir: string;
  /** Every worker process started, ready or not, killed or not. */
  processes: ServiceProcess[];
  /** Starts a worker process and resolves once it takes jobs. */
  startWorker(overrides?: Record<string, string>): Promise<ServiceProcess>;
  /** Uploads a fixture model through the API and returns its id. */
  uploadModel(fixture?: string): Promise<string>;
  /** Stops the API, kills every worker started, removes the store. */
  close(): Promise<void>;
}

export async function startServiceCluster(
  label: string,
  settings: Record<string, string>,
): Promise<ServiceCluster> {
  const storeDir = await mkdtemp(path.join(os.tmpdir(), `gbx-${label}-`));
  const env = {
    REDIS_URL: await requireRedis(),
    STORE_DIR: storeDir,
    QUEUE_PREFIX: uniquePrefix(label),
    PORT: '0',
    TFJS_BACKEND: 'wasm',
    ...settings,
  };
  const api = startProcess('api', env);
  const baseUrl = (await api.waitFor((l) => l.msg === 'api listening')).address as string;
  const workers: ServiceProcess[] = [];

  return {
    env,
    baseUrl,
    storeDir,
    processes: workers,
    startWorker: async (overrides = {}) => {
      const worker = startProcess('worker', { ...env, ...overrides });
      workers.push(worker);
      await worker.waitFor((l) => l.msg === 'worker started');
      return worker;
    },
    uploadModel: async (fixture = 'breast-cancer') => {
      const model = await uploadFixtureModel(baseUrl, fixture);
      expect(model.status).toBe(201);
      return model.body.id as string;
    },
    close: async () => {
      await Promise.all([api.stop(), ...workers.map((w) => w.stop('SIGKILL'))]);
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
