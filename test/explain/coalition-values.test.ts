// Masked rows and the value function: rows checked against a plain construction, and the
// pipelined batches against one call at a time.
import { describe, expect, it } from 'vitest';
import {
  coalitionValues,
  RowBuffers,
  toBackground,
  type EvaluationContext,
} from '../../src/explain/coalition-values.js';
import { createRandom } from '../../src/explain/random.js';

const WIDTH = 7;
const rng = createRandom(11);
const background = toBackground(
  Array.from({ length: 5 }, () => Array.from({ length: WIDTH }, () => rng.next() * 4 - 2)),
);
const instance = Array.from({ length: WIDTH }, () => rng.next() * 4 - 2);
/** Features 1..5 take part; 0 and 6 always keep the background's values. */
const features = [1, 2, 3, 4, 5];

/** Random masks, with runs of neighbours that differ in one feature and complementary pairs. */
function mixedMasks(count: number): Uint8Array {
  const m = features.length;
  const masks = new Uint8Array(count * m);
  for (let c = 0; c < count; c++) {
    const kind = c % 3;
    for (let j = 0; j < m; j++) {
      const previous = c > 0 ? masks[(c - 1) * m + j] : 0;
      if (kind === 0) masks[c * m + j] = rng.next() < 0.5 ? 1 : 0;
      else if (kind === 1) masks[c * m + j] = j === c % m ? 1 - previous : previous;
      else masks[c * m + j] = 1 - previous;
    }
  }
  return masks;
}

/** The rows of coalition c written out directly, one value at a time. */
function expectedRows(masks: Uint8Array, c: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < background.count; r++) {
    for (let f = 0; f < WIDTH; f++) {
      const j = features.indexOf(f);
      const fromInstance = j >= 0 && masks[c * features.length + j] === 1;
      rows.push(fromInstance ? Math.fround(instance[f]) : background.rows[r * WIDTH + f]);
    }
  }
  return rows;
}

/** A model that records its input and answers sum(row * (f + 1)), after a delay per call. */
function recordingContext(batchRows: number, delays: number[] = []): {
  ctx: EvaluationContext;
  seen: number[][];
} {
  const seen: number[][] = [];
  let call = 0;
  const ctx: EvaluationContext = {
    evaluate: async (rows, rowCount) => {
      const delay = delays[call++ % Math.max(1, delays.length)] ?? 0;
      const copy = Array.from(rows.subarray(0, rowCount * WIDTH));
      seen.push(copy);
      await new Promise((resolve) => setTimeout(resolve, delay));
      return Float32Array.from({ length: rowCount }, (_, r) =>
        copy.slice(r * WIDTH, (r + 1) * WIDTH).reduce((sum, v, f) => sum + v * (f + 1), 0),
      );
    },
    outputCount: 1,
    link: 'identity',
    batchRows,
    modelEvaluations: 0,
  };
  return { ctx, seen };
}

describe('coalitionValues', () => {
  it('builds every coalition\'s rows exactly as written out one value at a time', async () => {
    const count = 60;
    const masks = mixedMasks(count);
    // Four coalitions per batch, so each batch starts afresh and copies within itself.
    const { ctx, seen } = recordingContext(4 * background.count);
    await coalitionValues(ctx, instance, background, features, masks, count);
    const rows = seen.flat();
    const block = background.count * WIDTH;
    for (let c = 0; c < count; c++) {
      expect(rows.slice(c * block, (c + 1) * block)).toEqual(expectedRows(masks, c));
    }
    expect(ctx.modelEvaluations).toBe(count * background.count);
  });

  it('gives the same values when model calls finish out of order', async () => {
    const count = 45;
    const masks = mixedMasks(count);
    const plain = recordingContext(3 * background.count);
    const expected = await coalitionValues(plain.ctx, instance, background, features, masks, count);
    const shuffled = recordingContext(3 * background.count, [15, 1, 8, 0, 4]);
    shuffled.ctx.rowBuffers = new RowBuffers(true);
    const values = await coalitionValues(
      shuffled.ctx,
      instance,
      background,
      features,
      masks,
      count,
    );
    expect(Array.from(values)).toEqual(Array.from(expected));
    // The mean of each coalition's outputs over the background, by hand for coalition 0.
    const rows = expectedRows(masks, 0);
    let mean = 0;
    for (let r = 0; r < background.count; r++) {
      const row = rows.slice(r * WIDTH, (r + 1) * WIDTH);
      mean += row.reduce((sum, v, f) => sum + v * (f + 1), 0) / background.count;
    }
    expect(values[0]).toBeCloseTo(mean, 4);
  });

  it('rejects with the model\'s error and leaves no rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let calls = 0;
    const ctx: EvaluationContext = {
      evaluate: async (_rows, rowCount) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (calls >= 2) throw new Error(`model failed on call ${calls}`);
        return new Float32Array(rowCount);
      },
      outputCount: 1,
      link: 'identity',
      batchRows: 2 * background.count,
      modelEvaluations: 0,
    };
    const masks = mixedMasks(20);
    await expect(
      coalitionValues(ctx, instance, background, features, masks, 20),
    ).rejects.toThrow(/model failed on call 2/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });
});

describe('coalitionValues on wide rows', () => {
  it('keeps each batch within 2^22 values however many rows the batch size allows', async () => {
    const width = 1000;
    const wide = toBackground(Array.from({ length: 100 }, (_, r) => new Array(width).fill(r)));
    const largest: number[] = [];
    const ctx: EvaluationContext = {
      evaluate: async (rows, rowCount) => {
        largest.push(rows.length);
        return new Float32Array(rowCount);
      },
      outputCount: 1,
      link: 'identity',
      batchRows: 65_536,
      modelEvaluations: 0,
    };
    const masks = new Uint8Array(100 * 10).map((_, i) => (i % 3 === 0 ? 1 : 0));
    const features = Array.from({ length: 10 }, (_, j) => j);
    await coalitionValues(ctx, new Array(width).fill(-1), wide, features, masks, 100);
    expect(Math.max(...largest)).toBeLessThanOrEqual(2 ** 22);
    expect(largest.length).toBeGreaterThan(1);
    expect(ctx.modelEvaluations).toBe(100 * 100);
  });
});

describe('RowBuffers', () => {
  it('hands a released buffer out again and shares memory when asked', () => {
    const pool = new RowBuffers(true);
    const first = pool.acquire(100);
    expect(first.buffer).toBeInstanceOf(SharedArrayBuffer);
    pool.release(first);
    expect(pool.acquire(80)).toBe(first);
    expect(pool.acquire(80)).not.toBe(first);
    expect(new RowBuffers().acquire(10).buffer).toBeInstanceOf(ArrayBuffer);
  });
});
