import { describe, expect, it } from 'vitest';
import { mapConcurrently } from '../../src/explain/concurrency.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapConcurrently', () => {
  it('keeps index order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapConcurrently(7, 3, async (i) => {
      running++;
      most = Math.max(most, running);
      await pause((7 - i) * 3);
      running--;
      return i * i;
    });
    expect(results).toEqual([0, 1, 4, 9, 16, 25, 36]);
    expect(most).toBe(3);
  });

  it('starts nothing after a failure and rejects once the started calls settle', async () => {
    const settled: number[] = [];
    const run = mapConcurrently(4, 2, async (i) => {
      await pause(i === 0 ? 1 : 20);
      settled.push(i);
      if (i === 0) throw new Error('instance 0 failed');
      return i;
    });
    await expect(run).rejects.toThrow('instance 0 failed');
    expect(settled.sort()).toEqual([0, 1]);
  });
});
