// API keys per tenant, from API_KEYS and API_KEYS_FILE, and their constant-time lookup.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { TENANT_PATTERN, type Principal } from './principal.js';

/** Keys shorter than this are refused at start-up: they could be guessed. */
export const MIN_KEY_LENGTH = 16;

interface KeyEntry {
  principal: Principal;
  digest: Buffer;
}

/** The configured keys. Holds digests only, so a dump of it shows no key. */
export class KeyRing {
  private constructor(private readonly entries: KeyEntry[]) {}

  static fromPairs(pairs: { tenant: string; key: string }[]): KeyRing {
    return new KeyRing(
      pairs.map(({ tenant, key }, i) => ({
        principal: Object.freeze({ tenant, keyId: `${tenant}#${i + 1}` }),
        digest: digest(key),
      })),
    );
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * The principal a presented key belongs to, or null. Every configured key is compared, each in
   * constant time over equal-length digests, so the time taken says nothing about which matched.
   */
  lookup(presented: string): Principal | null {
    const presentedDigest = digest(presented);
    let found: Principal | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presentedDigest)) found = entry.principal;
    }
    return found;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Reads `API_KEYS` (`tenant:key,tenant:key`) and the lines of `API_KEYS_FILE` (`tenant:key`;
 * blank lines and lines starting with `#` skipped).
 * @throws ConfigError listing every malformed entry by position, never quoting a key.
 */
export function loadKeyRing(config: Config): KeyRing {
  const sources: { where: string; text: string }[] = [];
  if (config.API_KEYS) {
    config.API_KEYS.split(',').forEach((text, i) =>
      sources.push({ where: `API_KEYS entry ${i + 1}`, text }),
    );
  }
  if (config.API_KEYS_FILE) {
    let content: string;
    try {
      content = readFileSync(config.API_KEYS_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError([
        `API_KEYS_FILE: cannot read ${config.API_KEYS_FILE} (${(err as Error).message})`,
      ]);
    }
    content.split('\n').forEach((line, i) => {
      const text = line.trim();
      if (text !== '' && !text.startsWith('#'))
        sources.push({ where: `API_KEYS_FILE line ${i + 1}`, text });
    });
  }
  const problems: string[] = [];
  const pairs = sources.flatMap(({ where, text }) => {
    const colon = text.trim().indexOf(':');
    const tenant = text.trim().slice(0, colon);
    const key = text.trim().slice(colon + 1);
    if (colon < 0 || !TENANT_PATTERN.test(tenant)) {
      problems.push(`${where}: must be tenant:key with a tenant of letters, digits, _ or -`);
      return [];
    }
    if (key.length < MIN_KEY_LENGTH || /\s/.test(key)) {
      problems.push(
        `${where}: the key of tenant ${tenant} must be ` +
          `${MIN_KEY_LENGTH}+ characters without spaces`,
      );
      return [];
    }
    return [{ tenant, key }];
  });
  const keys = pairs.map((p) => p.key);
  if (new Set(keys).size !== keys.length) problems.push('API_KEYS: the same key is given twice');
  if (problems.length > 0) throw new ConfigError(problems);
  return KeyRing.fromPairs(pairs);
}

/** Addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** How the API guards its routes, decided once at start. */
export type AccessMode = { kind: 'keys'; keys: KeyRing } | { kind: 'open'; reason: string };

/**
 * Keys when any are configured. Without keys the API runs open only on a loopback address, or
 * anywhere when AUTH_DISABLED=true says so on purpose.
 * @throws ConfigError when there are no keys, the host is not loopback and auth is not disabled.
 */
export function decideAccess(config: Config): AccessMode {
  const keys = loadKeyRing(config);
  if (keys.size > 0) return { kind: 'keys', keys };
  if (config.AUTH_DISABLED) return { kind: 'open', reason: 'AUTH_DISABLED=true' };
  if (isLoopbackHost(config.HOST))
    return { kind: 'open', reason: `bound to loopback ${config.HOST}` };
  throw new ConfigError([
    `HOST: ${config.HOST} is reachable from other machines and no API keys are configured; ` +
      'set API_KEYS or API_KEYS_FILE, or AUTH_DISABLED=true to run open on purpose',
  ]);
}
