// Container health probe: exits 0 when this container's API or worker answers /health/live.
// The image runs as API or worker by its command, so the probe asks both of their ports.
import { loadConfig } from './config/index.js';

const PROBE_TIMEOUT_MS = 2500;

/** Wildcard bind addresses are reached through the loopback address. */
function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok;
  } catch {
    return false;
  }
}

async function probe(): Promise<number> {
  const config = loadConfig();
  const host = probeHost(config.HOST);
  const ports = [config.PORT, config.WORKER_METRICS_PORT];
  const results = await Promise.all(
    ports.map((port) => answers(`http://${host}:${port}/health/live`)),
  );

  return results.some(Boolean) ? 0 : 1;
}

probe().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
