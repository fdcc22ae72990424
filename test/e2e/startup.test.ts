// Start-up failures: one clear line, a non-zero exit, no retry storm.
import { describe, expect, it } from 'vitest';
import { startProcess } from '../helpers/processes.js';

describe('process start-up', () => {
  it('says in one line that Redis cannot be reached, and exits', async () => {
    const proc = startProcess('all', { REDIS_URL: 'redis://127.0.0.1:1', PORT: '0' });
    const code = await proc.exited;
    expect(code).toBe(1);
    const redisLines = proc.lines.filter((l) => l.includes('Redis'));
    expect(redisLines).toHaveLength(1);
    expect(redisLines[0]).toContain('cannot reach Redis at redis://127.0.0.1:1');
    expect(redisLines[0]).toContain('redis-server');
  });

  it('lists every bad configuration value and exits', async () => {
    const proc = startProcess('api', {
      PORT: 'eighty',
      WORKER_CONCURRENCY: '0',
      TFJS_BACKEND: 'tpu',
    });
    expect(await proc.exited).toBe(2);
    const output = proc.lines.join('\n');
    expect(output).toContain('PORT');
    expect(output).toContain('WORKER_CONCURRENCY');
    expect(output).toContain('TFJS_BACKEND');
  });
});
