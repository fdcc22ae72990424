// The Dockerfile and docker-compose.yml checked without a Docker engine: stages, users, health
// checks, commands, ports, volumes and environments against package.json and the config schema.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { envOf, last, parseDockerfile } from '../helpers/dockerfile.js';
import { ENTRY, ROOT } from '../helpers/processes.js';

const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const scripts = packageJson.scripts;
const startScripts = new Set([scripts.start, scripts['start:api'], scripts['start:worker']]);
const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const stage = (name: string) => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage ${name}`);
  return found;
};
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, any>; volumes: Record<string, unknown> };

describe('package.json start scripts', () => {
  it('run the entry point the end-to-end tests start', () => {
    expect(path.relative(ROOT, ENTRY)).toBe(path.join('dist', 'main.js'));
    expect(scripts.start).toBe('node dist/main.js all');
    expect(scripts['start:api']).toBe('node dist/main.js api');
    expect(scripts['start:worker']).toBe('node dist/main.js worker');
  });
});

describe('Dockerfile', () => {
  for (const target of ['cpu', 'gpu']) {
    describe(`target ${target}`, () => {
      it('runs as an unprivileged user', () => {
        const user = last(stage(target), 'USER');
        expect(user).toBeDefined();
        expect(['root', '0', '0:0']).not.toContain(user);
      });

      it('starts with one of the package.json start commands', () => {
        const cmd = JSON.parse(last(stage(target), 'CMD') ?? 'null') as string[];
        expect(startScripts).toContain(cmd.join(' '));
        expect(last(stage(target), 'ENTRYPOINT')).toBeUndefined();
      });

      it('checks its health with the built probe', () => {
        const healthcheck = last(stage(target), 'HEALTHCHECK') ?? '';
        const cmd = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD') + 3)) as string[];
        expect(cmd).toEqual(['node', 'dist/healthcheck.js']);
        expect(existsSync(path.join(ROOT, 'dist', 'healthcheck.js'))).toBe(true);
      });

      it('takes node_modules from a stage that installs production dependencies only', () => {
        const copy = stage(target).instructions.find(
          (i) => i.keyword === 'COPY' && i.args.endsWith('/app/node_modules ./node_modules'),
        );
        const from = /--from=(\S+)/.exec(copy?.args ?? '')?.[1] ?? '';
        const install = stage(from).instructions.find(
          (i) => i.keyword === 'RUN' && i.args.includes('npm ci'),
        );
        expect(install?.args).toContain('--omit=dev');
      });

      it('sets an environment the configuration schema accepts, and exposes its ports', () => {
        const env = envOf(stage(target));
        const config = loadConfig(env);
        expect(config.HOST).toBe('0.0.0.0');
        const exposed = (last(stage(target), 'EXPOSE') ?? '').split(/\s+/).map(Number);
        expect(exposed).toEqual(expect.arrayContaining([config.PORT, config.WORKER_METRICS_PORT]));
        expect(config.storeDir).toBe('/data');
      });
    });
  }

  it('builds the cpu target on the WebAssembly backend without optional packages', () => {
    expect(envOf(stage('cpu')).TFJS_BACKEND).toBe('wasm');
    const install = stage('cpu-deps').instructions.find((i) => i.args.includes('npm ci'));
    expect(install?.args).toContain('--omit=optional');
  });

  it('builds the gpu target on CUDA with the native GPU backend installed by its script', () => {
    expect(stage('gpu').from).toMatch(/^nvidia\/cuda:/);
    expect(envOf(stage('gpu')).TFJS_BACKEND).toBe('node-gpu');
    const install = stage('gpu-deps').instructions.find((i) => i.args.includes('npm ci'));
    expect(install?.args).not.toContain('--ignore-scripts');
    expect(install?.args).not.toContain('--omit=optional');
    expect(install?.args).toContain('tfjs-node-gpu/lib/napi-v*/tfjs_binding.node');
  });
});

describe('docker-compose.yml', () => {
  const services = compose.services;
  const appServices = ['api', 'worker', 'worker-gpu'];

  it('keeps Redis append-only on a named volume', () => {
    const redis = services.redis;
    expect(redis.command.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
    expect(redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs the API and the workers with the package.json start commands', () => {
    expect(services.api.command.join(' ')).toBe(scripts['start:api']);
    expect(services.worker.command.join(' ')).toBe(scripts['start:worker']);
    expect(services['worker-gpu'].command.join(' ')).toBe(scripts['start:worker']);
  });

  it('gives every service an environment the configuration schema accepts', () => {
    for (const name of appServices) {
      const env = Object.fromEntries(
        Object.entries(services[name].environment as Record<string, unknown>).map(([k, v]) => [
          k,
          // Compose substitutes ${VAR:-default} with the default (maybe empty) when VAR is unset.
          String(v).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1'),
        ]),
      );
      const config = loadConfig(env);
      expect(new URL(config.REDIS_URL).hostname).toBe('redis');
      expect(config.ADMIN_API_KEY).toBeUndefined();
    }
  });

  it('shares the store volume at STORE_DIR between the API and every worker', () => {
    expect(compose.volumes).toHaveProperty('store');
    for (const name of appServices) {
      const storeDir = services[name].environment.STORE_DIR;
      expect(services[name].volumes).toContain(`store:${storeDir}`);
    }
  });

  it('publishes the API port on this machine only and leaves workers unpublished', () => {
    // The API runs open unless API_KEYS is set, so the port is not published beyond loopback.
    const apiPort = services.api.environment.PORT;
    expect(services.api.ports).toEqual([`127.0.0.1:${apiPort}:${apiPort}`]);
    for (const name of ['worker', 'worker-gpu']) {
      expect(services[name].ports).toBeUndefined();
      expect(services[name].container_name).toBeUndefined();
      expect(services[name].expose).toEqual([services[name].environment.WORKER_METRICS_PORT]);
    }
  });

  it('builds the Dockerfile targets, CPU by default and the GPU worker only in its profile', () => {
    const stageNames = stages.map((s) => s.name);
    expect(services.api.build.target).toBe('cpu');
    expect(services.worker.build.target).toBe('cpu');
    expect(services['worker-gpu'].build.target).toBe('gpu');
    for (const name of appServices) expect(stageNames).toContain(services[name].build.target);
    expect(services.api.profiles).toBeUndefined();
    expect(services.worker.profiles).toBeUndefined();
    expect(services['worker-gpu'].profiles).toEqual(['gpu']);
  });

  it('reserves an NVIDIA device for the GPU worker', () => {
    const devices = services['worker-gpu'].deploy.resources.reservations.devices;
    expect(devices).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    expect(services['worker-gpu'].environment.TFJS_BACKEND).toBe('node-gpu');
  });

  it('starts the service processes once Redis is healthy', () => {
    for (const name of appServices) {
      expect(services[name].depends_on.redis.condition).toBe('service_healthy');
    }
  });
});
