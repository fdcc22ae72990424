// Start-up without API keys: open with a warning on loopback, refused on a public address.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startProcess } from '../helpers/processes.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';

describe('start-up without API keys', () => {
  it('refuses to start the API on a public address', async () => {
    const proc = startProcess('api', {
      HOST: '0.0.0.0',
      PORT: '0',
      API_KEYS: '',
      API_KEYS_FILE: '',
    });
    expect(await proc.exited).toBe(2);
    expect(proc.lines.join('\n')).toContain('set API_KEYS or API_KEYS_FILE, or AUTH_DISABLED=true');
  });

  it('starts open on loopback and says so in a warning', async () => {
    const redisUrl = await requireRedis();
    const storeDir = await mkdtemp(path.join(os.tmpdir(), 'gbx-open-'));
    const proc = startProcess('api', {
      HOST: '127.0.0.1',
      PORT: '0',
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: uniquePrefix('open'),
      API_KEYS: '',
      API_KEYS_FILE: '',
      STORE_DIR: storeDir,
    });
    try {
      const warning = await proc.waitFor((l) => String(l.msg).startsWith('no API keys configured'));
      expect(warning.level).toBe(40);
      await proc.waitFor((l) => l.msg === 'api listening');
    } finally {
      await proc.stop();
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});
