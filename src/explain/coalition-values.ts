// Expected model output over a background for coalitions of features: the value function that
// Shapley methods share. Masked rows are built in large typed arrays and evaluated in batches.
import { applyLink, type LinkName } from './link.js';

/**
 * Runs the model on `rowCount` rows laid out row-major in `rows` and resolves to
 * `rowCount * outputCount` outputs, row-major. When `into` is given (room for exactly those
 * outputs), the evaluator may write them there and resolve with it instead of allocating; the
 * caller reads them before it hands `into` out again.
 */
export type ModelEvaluator = (
  rows: Float32Array,
  rowCount: number,
  into?: Float32Array,
) => Promise<ArrayLike<number>>;

/** Background rows, row-major, with optional weights (uniform when absent). */
export interface Background {
  rows: Float32Array;
  count: number;
  width: number;
  weights?: Float64Array;
}

/** What every coalition evaluation needs: the model, the link and a running tally. */
export interface EvaluationContext {
  evaluate: ModelEvaluator;
  outputCount: number;
  link: LinkName;
  /** Most rows handed to `evaluate` at once. */
  batchRows: number;
  /** Rows the model has run so far; incremented by every call. */
  modelEvaluations: number;
  /** Called after every batch with the rows it held. */
  onRows?: (rows: number) => void | Promise<void>;
  /** Buffers for masked rows, reused from call to call; absent, each call allocates its own. */
  rowBuffers?: RowBuffers;
}

/**
 * Float32 buffers for masked rows, kept for reuse: fresh multi-megabyte arrays per batch cost
 * more in garbage collection than the rest of the JavaScript around the model. With `shared`,
 * they are SharedArrayBuffers, which a model running in another thread reads without a copy.
 */
export class RowBuffers {
  private readonly free: Float32Array[] = [];

  constructor(private readonly shared = false) {}

  /** The smallest free buffer of at least `length` values; give it back with `release`. */
  acquire(length: number): Float32Array {
    let at = -1;
    this.free.forEach((buffer, i) => {
      if (buffer.length >= length && (at < 0 || buffer.length < this.free[at].length)) at = i;
    });
    if (at >= 0) return this.free.splice(at, 1)[0];
    const bytes = length * Float32Array.BYTES_PER_ELEMENT;
    return new Float32Array(this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  }

  release(buffer: Float32Array): void {
    this.free.push(buffer);
  }
}

/** Builds a background from plain rows. */
export function toBackground(rows: number[][], weights?: number[]): Background {
  const width = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * width);
  rows.forEach((row, r) => data.set(row, r * width));
  return {
    rows: data,
    count: rows.length,
    width,
    weights: weights ? Float64Array.from(weights) : undefined,
  };
}

/**
 * Model outputs in link space for plain rows.
 * @returns rowCount × outputCount values, row-major, float64.
 */
export async function linkedOutputs(
  ctx: EvaluationContext,
  rows: Float32Array,
  rowCount: number,
): Promise<Float64Array> {
  const out = Float64Array.from(await runModel(ctx, rows, rowCount));
  return linkInPlace(ctx.link, out);
}

/**
 * The link of the weighted mean model output over the background: the base value per output,
 * equal to v(empty coalition).
 */
export async function backgroundMean(
  ctx: EvaluationContext,
  bg: Background,
): Promise<Float64Array> {
  const raw = await runModel(ctx, bg.rows, bg.count);
  const mean = new Float64Array(ctx.outputCount);
  blockMeans(raw, normalizedWeights(bg), ctx.outputCount, 1, mean);
  return linkInPlace(ctx.link, mean);
}

/** The base values E[f] and the instances' outputs f(x), in link space. */
export interface ReferenceOutputs {
  base: Float64Array;
  /** instances × outputCount. */
  fx: Float64Array;
}

/**
 * Starts the two model calls every Shapley method needs, without waiting for them: the
 * instances' coalitions can be planned and sent meanwhile. The promise is marked handled, so a
 * failure surfaces where it is awaited (or through the failure that stopped the method first).
 */
export function referenceOutputs(
  ctx: EvaluationContext,
  instances: number[][],
  bg: Background,
): Promise<ReferenceOutputs> {
  const reference = Promise.all([
    backgroundMean(ctx, bg),
    linkedOutputs(ctx, Float32Array.from(instances.flat()), instances.length),
  ]).then(([base, fx]) => ({ base, fx }));
  reference.catch(() => undefined);
  return reference;
}

/** Applies the link to every value, in place; returns the same array. */
export function linkInPlace(link: LinkName, values: Float64Array): Float64Array {
  if (link === 'identity') return values;
  for (let i = 0; i < values.length; i++) values[i] = applyLink(link, values[i]);
  return values;
}

/**
 * The value function v(S) for each coalition S: link(E_b[f(z)]), the link of the weighted mean
 * over background rows b of f(z), where z takes the instance's values on the features in S and
 * b's elsewhere. The link is applied to the expectation, not averaged over the background, as
 * the KernelSHAP paper and the reference implementation define it; an average of log-odds would
 * let one saturated background row dominate every coalition.
 * @param features - indices into the row of the features the masks refer to.
 * @param masks - coalitionCount × features.length, 1 where the feature is in the coalition.
 * @returns coalitionCount × outputCount values, row-major.
 */
export async function coalitionValues(
  ctx: EvaluationContext,
  instance: ArrayLike<number>,
  bg: Background,
  features: number[],
  masks: Uint8Array,
  coalitionCount: number,
): Promise<Float64Array> {
  const k = ctx.outputCount;
  const values = new Float64Array(coalitionCount * k);
  const writer = new MaskedRowWriter(instance, bg, features, masks);
  const weights = normalizedWeights(bg);
  await streamBlocks(
    ctx,
    { count: coalitionCount, rows: bg.count, width: bg.width },
    (start, end, target) => writer.write(start, end, target),
    (start, end, raw) =>
      blockMeans(raw, weights, k, end - start, values.subarray(start * k, end * k)),
  );
  return linkInPlace(ctx.link, values);
}

/** Equal blocks of rows: `count` blocks of `rows` rows of `width` values. */
export interface BlockShape {
  count: number;
  rows: number;
  width: number;
}

/**
 * Runs the model over blocks of rows that `write` produces on demand, in batches of whole
 * blocks, and hands each batch's outputs to `read`. A batch is written while the ones before it
 * are still with the model: when the model runs in another thread, building rows and running
 * the model overlap. Blocks are written in order, so a seeded `write` gives the same rows
 * every run.
 * @param write - writes blocks [start, end) into the front of `target` and returns those rows.
 * @param read - receives the raw outputs of blocks [start, end), row-major; it must not keep
 *   them, the buffer is reused.
 */
export async function streamBlocks(
  ctx: EvaluationContext,
  shape: BlockShape,
  write: (start: number, end: number, target: Float32Array) => Float32Array,
  read: (start: number, end: number, raw: ArrayLike<number>) => void,
): Promise<void> {
  const k = ctx.outputCount;
  const blockValues = shape.rows * shape.width;
  const perBatch = Math.min(
    shape.count,
    Math.max(
      1,
      Math.min(Math.floor(ctx.batchRows / shape.rows), Math.floor(MAX_BATCH_VALUES / blockValues)),
    ),
  );
  const pool = ctx.rowBuffers ?? new RowBuffers();
  const buffers: Float32Array[] = [];
  const outputBuffers: Float32Array[] = [];
  const inFlight: Promise<void>[] = [];
  try {
    for (let start = 0, batch = 0; start < shape.count; start += perBatch, batch++) {
      if (inFlight.length === BATCHES_IN_FLIGHT) await inFlight.shift();
      const end = Math.min(shape.count, start + perBatch);
      const slot = batch % BATCHES_IN_FLIGHT;
      if (buffers.length <= slot) {
        buffers.push(pool.acquire(perBatch * blockValues));
        outputBuffers.push(pool.acquire(perBatch * shape.rows * k));
      }
      const rows = write(start, end, buffers[slot]);
      const rowCount = (end - start) * shape.rows;
      const into = outputBuffers[slot].subarray(0, rowCount * k);
      const done = runModel(ctx, rows, rowCount, into).then((raw) => read(start, end, raw));
      // Rejections are awaited below; this keeps one from going unhandled meanwhile.
      done.catch(() => undefined);
      inFlight.push(done);
    }
    await Promise.all(inFlight);
  } finally {
    // A buffer goes back only once no model call can still be reading it.
    await Promise.allSettled(inFlight);
    for (const buffer of [...buffers, ...outputBuffers]) pool.release(buffer);
  }
}

/** Batches handed to the model before the first of them has to come back. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Most values in one batch of masked rows (16 MiB of float32): with wide inputs (images) a
 * batch of `batchRows` rows would take hundreds of megabytes, times the batches in flight.
 */
const MAX_BATCH_VALUES = 1 << 22;

const EMPTY = -1;
const FULL = -2;

/**
 * Writes masked rows, one block of background rows per coalition. Each block starts as a copy of
 * whichever is nearest among the plain background, the background with every feature from the
 * instance, and the block just written; then only the columns that differ are rewritten. Every
 * way gives the same rows: this only saves writes.
 */
class MaskedRowWriter {
  private readonly block: number;
  /** The background with every one of `features` set to the instance's value. */
  private readonly filled: Float32Array;
  private readonly values: Float32Array;

  constructor(
    instance: ArrayLike<number>,
    private readonly bg: Background,
    private readonly features: number[],
    private readonly masks: Uint8Array,
  ) {
    this.block = bg.count * bg.width;
    this.values = Float32Array.from(features, (f) => instance[f]);
    this.filled = bg.rows.slice();
    for (let j = 0; j < features.length; j++) this.setColumn(this.filled, j, this.values[j]);
  }

  /** Rows for coalitions [start, end), written into the front of `scratch`. */
  write(start: number, end: number, scratch: Float32Array): Float32Array {
    const m = this.features.length;
    const { masks, block } = this;
    const rows = scratch.subarray(0, (end - start) * block);
    for (let c = start; c < end; c++) {
      let size = 0;
      let changed = 0;
      for (let j = c * m; j < (c + 1) * m; j++) {
        size += masks[j];
        if (c > start) changed += masks[j] ^ masks[j - m];
      }
      const offset = (c - start) * block;
      if (c > start && changed < Math.min(size, m - size)) {
        rows.copyWithin(offset, offset - block, offset);
        this.rewrite(rows, offset, c, c - 1);
      } else if (size <= m - size) {
        rows.set(this.bg.rows, offset);
        this.rewrite(rows, offset, c, EMPTY);
      } else {
        rows.set(this.filled, offset);
        this.rewrite(rows, offset, c, FULL);
      }
    }
    return rows;
  }

  /**
   * Rewrites the columns where coalition c differs from `source`: a coalition index, EMPTY (the
   * plain background) or FULL (every feature from the instance).
   */
  private rewrite(rows: Float32Array, offset: number, c: number, source: number): void {
    const { masks, features, values, block } = this;
    const width = this.bg.width;
    const background = this.bg.rows;
    const m = features.length;
    for (let j = 0; j < m; j++) {
      const wanted = masks[c * m + j];
      const present = source === EMPTY ? 0 : source === FULL ? 1 : masks[source * m + j];
      if (wanted === present) continue;
      const f = features[j];
      if (wanted === 1) fillColumn(rows, offset + f, offset + block, width, values[j]);
      else copyColumn(rows, offset, background, f, block, width);
    }
  }

  private setColumn(rows: Float32Array, j: number, value: number): void {
    const width = this.bg.width;
    for (let i = this.features[j]; i < this.block; i += width) rows[i] = value;
  }
}

// The two loops below are unrolled by four: they run for every masked column of every
// coalition, and unrolled they take about a quarter less time.

/** Sets every `stride`-th value of `rows` from `from` up to `end` to `value`. */
function fillColumn(rows: Float32Array, from: number, end: number, stride: number, value: number) {
  let i = from;
  for (; i + 3 * stride < end; i += 4 * stride) {
    rows[i] = value;
    rows[i + stride] = value;
    rows[i + 2 * stride] = value;
    rows[i + 3 * stride] = value;
  }
  for (; i < end; i += stride) rows[i] = value;
}

/** Copies column f of a `length`-value block from `source` into `rows` at `offset`. */
function copyColumn(
  rows: Float32Array,
  offset: number,
  source: Float32Array,
  f: number,
  length: number,
  stride: number,
): void {
  let i = f;
  for (; i + 3 * stride < length; i += 4 * stride) {
    rows[offset + i] = source[i];
    rows[offset + i + stride] = source[i + stride];
    rows[offset + i + 2 * stride] = source[i + 2 * stride];
    rows[offset + i + 3 * stride] = source[i + 3 * stride];
  }
  for (; i < length; i += stride) rows[offset + i] = source[i];
}

/** Background weights scaled to sum to 1; uniform when the background has none. */
function normalizedWeights(bg: Background): Float64Array {
  const weights = bg.weights ? Float64Array.from(bg.weights) : new Float64Array(bg.count).fill(1);
  let total = 0;
  for (let r = 0; r < bg.count; r++) total += weights[r];
  for (let r = 0; r < bg.count; r++) weights[r] /= total;
  return weights;
}

/**
 * Weighted means of consecutive blocks of background rows.
 * @param raw - blocks × weights.length rows of k outputs.
 * @param target - blocks × k means.
 */
function blockMeans(
  raw: ArrayLike<number>,
  weights: Float64Array,
  k: number,
  blocks: number,
  target: Float64Array,
): void {
  const rowsPerBlock = weights.length;
  for (let b = 0; b < blocks; b++) {
    for (let o = 0; o < k; o++) {
      let sum = 0;
      let at = b * rowsPerBlock * k + o;
      for (let r = 0; r < rowsPerBlock; r++, at += k) sum += weights[r] * raw[at];
      target[b * k + o] = sum;
    }
  }
}

/**
 * Runs the model on `rowCount` rows in calls of at most `ctx.batchRows`.
 * @param into - offered to the evaluator when the rows take one call.
 * @returns rowCount × outputCount outputs, row-major.
 */
async function runModel(
  ctx: EvaluationContext,
  rows: Float32Array,
  rowCount: number,
  into?: Float32Array,
): Promise<ArrayLike<number>> {
  if (rowCount <= ctx.batchRows) return evaluateChecked(ctx, rows, rowCount, into);
  const width = rows.length / rowCount;
  const out = new Float64Array(rowCount * ctx.outputCount);
  for (let start = 0; start < rowCount; start += ctx.batchRows) {
    const end = Math.min(rowCount, start + ctx.batchRows);
    const part = rows.subarray(start * width, end * width);
    out.set(await evaluateChecked(ctx, part, end - start), start * ctx.outputCount);
  }
  return out;
}

/** One model call, its output length checked and its rows counted. */
async function evaluateChecked(
  ctx: EvaluationContext,
  rows: Float32Array,
  rowCount: number,
  into?: Float32Array,
): Promise<ArrayLike<number>> {
  const result = await ctx.evaluate(rows, rowCount, into);
  if (result.length !== rowCount * ctx.outputCount) {
    throw new Error(
      `model returned ${result.length} values for ${rowCount} rows of ${ctx.outputCount} outputs`,
    );
  }
  ctx.modelEvaluations += rowCount;
  await ctx.onRows?.(rowCount);
  return result;
}
