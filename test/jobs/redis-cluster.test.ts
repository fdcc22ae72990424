// Queue keys that fit a Redis Cluster: a hash-tagged prefix by default, and a cluster client on
// request.
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createRedis } from '../../src/jobs/queue.js';

describe('queue prefix and Redis Cluster', () => {
  it('hash-tags the default prefix so that every queue key lands in one slot', () => {
    expect(loadConfig({}).QUEUE_PREFIX).toBe('{glassbox}');
  });

  it('refuses a cluster with a prefix that has no hash tag, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ REDIS_CLUSTER: 'on', QUEUE_PREFIX: 'glassbox' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems[0]).toMatch(/^QUEUE_PREFIX: /);
  });

  it(
    'connects through a cluster client seeded with REDIS_URL when REDIS_CLUSTER is on',
    async () => {
      const config = loadConfig({
        REDIS_CLUSTER: 'on',
        REDIS_URL: 'redis://:secret@10.0.0.7:7001',
      });
      const client = createRedis(config, false);
      try {
        expect(client).toBeInstanceOf(Cluster);
        const cluster = client as Cluster;
        cluster.on('error', () => undefined);
        expect(Reflect.get(cluster, 'startupNodes')).toEqual([{ host: '10.0.0.7', port: 7001 }]);
        expect(cluster.options.redisOptions?.password).toBe('secret');
      } finally {
        client.disconnect();
      }
      const single = createRedis(loadConfig({ REDIS_URL: 'redis://127.0.0.1:1' }), false);
      single.on('error', () => undefined);
      single.disconnect();
      expect(single).toBeInstanceOf(Redis);
    },
  );
});
