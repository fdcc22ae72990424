// API throughput and latency under load from autocannon, against a bare Fastify server in the
// same run: job submissions per second, and p99 latency of GET /v1/jobs/:id.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fixtureData } from '../test/helpers/fixtures.js';
import { benchEnv, median, startService, uploadFixture, type Figure } from './common.js';

const DURATION_S = 4;
const CONNECTIONS = 10;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Load {
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
}

async function load(url: string, method: 'GET' | 'POST', body?: string): Promise<Load> {
  const result = await autocannon({
    url,
    method,
    body,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  return {
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function loadRepeated(url: string, method: 'GET' | 'POST', body?: string): Promise<Load> {
  const runs: Load[] = [];
  for (let i = 0; i < 3; i++) runs.push(await load(url, method, body));
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  };
}

async function startBare(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'bare-server.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const line = chunk
        .toString()
        .split('\n')
        .find((l) => l.includes('api listening'));
      if (line) resolve(JSON.parse(line).address);
    });
    child.on('exit', () => reject(new Error('bare server exited')));
  });
  return { url: address, stop: () => child.kill() };
}

export async function benchApiLoad(): Promise<Figure[]> {
  // The rate limit would answer most of the load with 429: lift it to measure the service.
  const bench = await benchEnv('api', { RATE_LIMIT_MAX: String(1e9) });
  const { service, baseUrl } = await startService('api', bench.env);
  const bare = await startBare();
  try {
    const modelId = await uploadFixture(baseUrl, 'breast-cancer');
    const data = fixtureData('breast-cancer');
    const body = JSON.stringify({
      modelId,
      method: 'kernel_shap',
      instances: data.instances.slice(0, 2),
      background: data.background.slice(0, 20),
      params: { nsamples: 100, seed: 1 },
    });
    const submitted = await fetch(`${baseUrl}/v1/explanations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const jobId = ((await submitted.json()) as { id: string }).id;

    const submit = await loadRepeated(`${baseUrl}/v1/explanations`, 'POST', body);
    const bareSubmit = await loadRepeated(`${bare.url}/bare`, 'POST', body);
    const poll = await loadRepeated(`${baseUrl}/v1/jobs/${jobId}`, 'GET');
    const barePoll = await loadRepeated(`${bare.url}/bare/${jobId}`, 'GET');
    const detail = `${CONNECTIONS} connections, ${DURATION_S} s`;
    return [
      { name: 'POST /v1/explanations', value: submit.requestsPerSecond, unit: 'req/s', detail },
      { name: 'bare POST, same body', value: bareSubmit.requestsPerSecond, unit: 'req/s' },
      {
        name: 'submissions / bare',
        value: submit.requestsPerSecond / bareSubmit.requestsPerSecond,
        unit: '×',
      },
      { name: 'GET /v1/jobs/:id p99', value: poll.p99Ms, unit: 'ms', detail },
      { name: 'bare GET p99', value: barePoll.p99Ms, unit: 'ms' },
      { name: 'GET p99 / bare', value: poll.p99Ms / Math.max(1, barePoll.p99Ms), unit: '×' },
      {
        name: 'errors and non-2xx answers',
        value: submit.errors + bareSubmit.errors + poll.errors + barePoll.errors,
        unit: '',
      },
    ];
  } finally {
    bare.stop();
    await service.stop();
    await bench.remove();
  }
}
