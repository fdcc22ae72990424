import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/explain/random.js';

describe('createRandom', () => {
  it('keeps the stream explanations were computed with', () => {
    const rng = createRandom(20240611);
    const drawn = [rng.next(), rng.next(), rng.next(), rng.int(1000), rng.int(7)];
    expect(drawn).toEqual([0.4845816886673744, 0.18426313678126793, 0.7638669055945503, 315, 4]);
  });

  it('fills with the numbers next() would return, interleaved with next() and int()', () => {
    const bulk = createRandom(99);
    const single = createRandom(99);
    const block = new Float64Array(257);
    for (let round = 0; round < 20; round++) {
      bulk.fill(block);
      for (const value of block) expect(value).toBe(single.next());
      expect(bulk.next()).toBe(single.next());
      expect(bulk.int(13)).toBe(single.int(13));
    }
  });
});
