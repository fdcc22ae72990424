// Cuts model calls into slices short enough that the worker's event loop keeps turning: BullMQ
// renews a job's lock from a timer, and a lock not renewed in time hands the job to another
// worker while this one is still computing it.
import { performance } from 'node:perf_hooks';
import type { ModelEvaluator } from '../explain/coalition-values.js';

export interface SliceOptions {
  /** Values in one input row. */
  width: number;
  /** Values in one output row. */
  outputCount: number;
  /** Time one slice should take; the slice size adapts towards it. */
  targetMs: number;
  /** Rows of the first slice, before any has been timed. */
  initialRows?: number;
}

/** Gives timers and I/O (lock renewal, progress) their turn. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Wraps an evaluator so that each call runs as slices of about `targetMs`, yielding to the event
 * loop between them. The slice size doubles at most per step, so that one fast slice (a warm
 * cache, a tiny model) cannot make the next one run far over the target.
 */
export function slicedEvaluator(evaluate: ModelEvaluator, options: SliceOptions): ModelEvaluator {
  let sliceRows = options.initialRows ?? 64;
  return async (rows, rowCount) => {
    const out = new Float32Array(rowCount * options.outputCount);
    for (let start = 0; start < rowCount;) {
      const count = Math.min(sliceRows, rowCount - start);
      const began = performance.now();
      const part = await evaluate(
        rows.subarray(start * options.width, (start + count) * options.width),
        count,
      );
      const elapsed = Math.max(performance.now() - began, 0.1);
      out.set(part as ArrayLike<number>, start * options.outputCount);
      start += count;
      if (count === sliceRows) {
        const scaled = Math.floor((count * options.targetMs) / elapsed);
        sliceRows = Math.max(1, Math.min(scaled, count * 2));
      }
      await yieldToEventLoop();
    }
    return out;
  };
}
