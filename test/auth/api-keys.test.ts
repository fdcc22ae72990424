import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideAccess, isLoopbackHost, loadKeyRing } from '../../src/auth/api-keys.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';

describe('loadKeyRing', () => {
  it('reads keys from API_KEYS and API_KEYS_FILE and finds each tenant by its key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gbx-keys-'));
    try {
      const file = path.join(dir, 'keys');
      await writeFile(file, '# team keys\n\ngamma:gamma-key-0123456789abcd\n');
      const ring = loadKeyRing(
        loadConfig({
          API_KEYS: 'alpha:alpha-key-0123456789abcd, beta:beta-key-0123456789abcde',
          API_KEYS_FILE: file,
        }),
      );
      expect(ring.size).toBe(3);
      expect(ring.lookup('alpha-key-0123456789abcd')?.tenant).toBe('alpha');
      expect(ring.lookup('beta-key-0123456789abcde')?.tenant).toBe('beta');
      expect(ring.lookup('gamma-key-0123456789abcd')?.tenant).toBe('gamma');
      expect(ring.lookup('gamma-key-0123456789abc')).toBeNull();
      expect(ring.lookup('')).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists every malformed entry without quoting any key', () => {
    const secret = 'short-secret';
    try {
      loadKeyRing(
        loadConfig({ API_KEYS: `nocolon,alpha:${secret},bad tenant:0123456789abcdefgh` }),
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(3);
      expect(problems.join()).not.toContain(secret);
      expect(problems[1]).toBe(
        'API_KEYS entry 2: the key of tenant alpha must be 16+ characters without spaces',
      );
    }
  });
});

describe('decideAccess', () => {
  it('runs open on loopback without keys', () => {
    expect(decideAccess(loadConfig({ HOST: '127.0.0.1' })).kind).toBe('open');
    expect(decideAccess(loadConfig({ HOST: '::1' })).kind).toBe('open');
  });

  it('refuses a public address without keys unless AUTH_DISABLED=true', () => {
    expect(() => decideAccess(loadConfig({ HOST: '0.0.0.0' }))).toThrow(/AUTH_DISABLED=true/);
    expect(decideAccess(loadConfig({ HOST: '0.0.0.0', AUTH_DISABLED: 'true' }))).toMatchObject({
      kind: 'open',
      reason: 'AUTH_DISABLED=true',
    });
    expect(
      decideAccess(loadConfig({ HOST: '0.0.0.0', API_KEYS: 'a:0123456789abcdefgh' })).kind,
    ).toBe('keys');
  });

  it('tells loopback addresses from others', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});
