import { describe, expect, it } from 'vitest';
import { slicedEvaluator } from '../../src/worker/sliced-evaluator.js';
import { randomRows, rowModel } from '../helpers/models.js';

describe('slicedEvaluator', () => {
  // Oracle: a two-output function of three inputs, evaluated row by row in plain JavaScript.
  const fn = (x: Float32Array) => [x[0] * 2 - x[1], x[2] + 1];

  it('returns what one unsliced call returns, in row order', async () => {
    const rows = randomRows(1000, 3, 7);
    const flat = Float32Array.from(rows.flat());
    let calls = 0;
    const inner = rowModel(3, fn);
    const sliced = slicedEvaluator(
      async (r, n) => {
        calls++;
        return Float32Array.from(await inner(r, n));
      },
      { width: 3, outputCount: 2, targetMs: 1, initialRows: 16 },
    );
    const out = await sliced(flat, rows.length);
    const expected = rows.flatMap((row) => fn(Float32Array.from(row)));
    expect(Array.from(out)).toEqual(Array.from(Float32Array.from(expected)));
    expect(calls).toBeGreaterThan(1);
  });

  it('lets timers run between slices', async () => {
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    // A slice blocks the thread for 0.5 ms a row; the ticker can only run between slices.
    const busy = slicedEvaluator(
      async (_r, n) => {
        const until = performance.now() + 0.5 * n;
        while (performance.now() < until);
        return new Float32Array(n);
      },
      { width: 1, outputCount: 1, targetMs: 5, initialRows: 10 },
    );
    await busy(new Float32Array(200), 200);
    clearInterval(ticker);
    expect(turns).toBeGreaterThan(0);
  });
});
