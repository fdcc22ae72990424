// Messages between a compute thread, which holds the models, and its method thread, which runs
// the explanation methods and asks the compute thread to run the model on its rows.
import type { ThreadError } from './compute-protocol.js';
import type { ExplanationJobResult, MethodRun } from './methods.js';

/** What a method thread needs of a job besides a way to run the model. */
export type MethodJob = Pick<MethodRun, 'payload' | 'record' | 'batchRows' | 'exactMaxFeatures'>;

/** Compute thread to method thread. */
export type MethodRequest =
  | { type: 'run'; id: number; job: MethodJob }
  /** `outputs` is absent when they were written into the call's `into`. */
  | { type: 'evaluated'; call: number; outputs?: ArrayLike<number> }
  | { type: 'evaluate-failed'; call: number; error: ThreadError };

/**
 * Method thread to compute thread. The rows of an `evaluate` usually sit in shared memory, so
 * they cross without a copy; the method thread leaves them untouched until the answer comes. So
 * does `into`, shared memory for the outputs, when the method offers it.
 */
export type MethodMessage =
  | {
      type: 'evaluate';
      id: number;
      call: number;
      rows: Float32Array;
      rowCount: number;
      into?: Float32Array;
    }
  | { type: 'progress'; id: number; fraction: number }
  | { type: 'done'; id: number; result: ExplanationJobResult }
  | { type: 'error'; id: number; error: ThreadError };
