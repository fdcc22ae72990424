// Messages between the compute pool (main thread) and its compute threads.
import type { TfjsBackendChoice } from '../config/index.js';
import { GlassboxError, type ErrorCode, type FieldProblem } from '../errors.js';
import type { ExplanationPayload } from '../jobs/queue.js';
import type { ComputeMemory, ComputeOutcome } from './compute.js';

/** What a thread is started with. */
export interface ThreadSettings {
  backend: TfjsBackendChoice;
  storeDir: string;
  batchRows: number;
  cacheBytes: number;
  /** Most features exact_shap enumerates. */
  exactMaxFeatures?: number;
}

/** Settings plus the cancellation flag, shared memory that both threads see. */
export interface ThreadStart extends ThreadSettings {
  /**
   * One Int32 over a SharedArrayBuffer: the main thread writes the id of the request to stop.
   * A message would not do: a busy thread reads messages only once its job is over.
   */
  cancelFlag: Int32Array;
}

/** Main thread to compute thread. */
export type ThreadRequest =
  | { type: 'explain'; id: number; payload: ExplanationPayload }
  | { type: 'memory'; id: number }
  | { type: 'close' };

/** An error as data: a catalogued code for errors the job caused, a stack for crashes. */
export interface ThreadError {
  code?: ErrorCode;
  message: string;
  problems?: FieldProblem[];
  stack?: string;
}

/** Compute thread to main thread. */
export type ThreadMessage =
  | { type: 'ready'; backend: string }
  | { type: 'failed'; error: ThreadError }
  | { type: 'progress'; id: number; fraction: number }
  | { type: 'done'; id: number; outcome: ComputeOutcome }
  | { type: 'error'; id: number; error: ThreadError }
  | { type: 'memory'; id: number; memory: ComputeMemory }
  | { type: 'closed' };

/** Errors cross a thread boundary as data; `rebuildError` makes them errors again. */
export function describeError(err: unknown): ThreadError {
  if (err instanceof GlassboxError)
    return { code: err.code, message: err.message, problems: err.problems };
  const error = err instanceof Error ? err : new Error(String(err));
  return { message: error.message, stack: error.stack };
}

export function rebuildError(error: ThreadError): Error {
  if (error.code) return new GlassboxError(error.code, error.message, error.problems ?? []);
  const rebuilt = new Error(error.message);
  if (error.stack) rebuilt.stack = error.stack;
  return rebuilt;
}
