// The compute thread's side of its method thread: hands it jobs, runs the model for it and
// relays its progress.
import type { Worker } from 'node:worker_threads';
import type { ModelEvaluator } from '../explain/coalition-values.js';
import { describeError, rebuildError } from './compute-protocol.js';
import type { MethodJob, MethodMessage, MethodRequest } from './method-protocol.js';
import type { ExplanationJobResult } from './methods.js';
import { spawnThread } from './spawn-thread.js';

/** Runs explanation methods in another thread, against a model evaluated in this one. */
export interface MethodHost {
  /**
   * @param evaluate - runs the model here; the method thread calls it for every batch.
   * @param checkCancelled - called before every model call; what it throws fails the job.
   */
  run(
    job: MethodJob,
    evaluate: ModelEvaluator,
    onProgress: (fraction: number) => void,
    checkCancelled?: () => Promise<void>,
  ): Promise<ExplanationJobResult>;
  close(): Promise<void>;
}

interface RunningJob {
  evaluate: ModelEvaluator;
  onProgress: (fraction: number) => void;
  checkCancelled?: () => Promise<void>;
  resolve: (result: ExplanationJobResult) => void;
  reject: (err: Error) => void;
}

/**
 * The buffer of `outputs` when they fill it alone, so that it can move to the other thread
 * instead of being copied (a copy of every batch's outputs costs milliseconds per job).
 */
function ownedBuffer(outputs: ArrayLike<number>): ArrayBuffer[] {
  if (!ArrayBuffer.isView(outputs)) return [];
  const { buffer, byteOffset, byteLength } = outputs;
  const whole = byteOffset === 0 && byteLength === buffer.byteLength;
  return buffer instanceof ArrayBuffer && whole ? [buffer] : [];
}

/**
 * Starts a method thread on first use, and again after one dies: its running jobs fail (and are
 * retried by the queue), later ones get a fresh thread.
 */
export function createMethodHost(): MethodHost {
  const jobs = new Map<number, RunningJob>();
  let thread: Worker | null = null;
  let nextId = 1;

  const post = (message: MethodRequest, transfer: ArrayBuffer[] = []) =>
    thread?.postMessage(message, transfer);
  const evaluateFor = async (
    job: RunningJob,
    call: number,
    rows: Float32Array,
    count: number,
    into?: Float32Array,
  ) => {
    try {
      await job.checkCancelled?.();
      const outputs = await job.evaluate(rows, count);
      if (into && outputs.length === into.length) {
        into.set(outputs);
        post({ type: 'evaluated', call });
      } else {
        post({ type: 'evaluated', call, outputs }, ownedBuffer(outputs));
      }
    } catch (err) {
      post({ type: 'evaluate-failed', call, error: describeError(err) });
    }
  };
  const receive = (message: MethodMessage) => {
    const job = jobs.get(message.id);
    if (!job) return;
    if (message.type === 'evaluate') {
      void evaluateFor(job, message.call, message.rows, message.rowCount, message.into);
    } else if (message.type === 'progress') {
      job.onProgress(message.fraction);
    } else {
      jobs.delete(message.id);
      if (message.type === 'done') job.resolve(message.result);
      else job.reject(rebuildError(message.error));
    }
  };
  const failAll = (err: Error) => {
    for (const job of jobs.values()) job.reject(err);
    jobs.clear();
  };
  const start = (): Worker => {
    const worker = spawnThread('method-thread', import.meta.url, null);
    worker.on('message', receive);
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => {
      if (thread === worker) thread = null;
      failAll(new Error(`method thread exited with code ${code}`));
    });
    return worker;
  };

  return {
    run: (job, evaluate, onProgress, checkCancelled) =>
      new Promise((resolve, reject) => {
        thread ??= start();
        const id = nextId++;
        jobs.set(id, { evaluate, onProgress, checkCancelled, resolve, reject });
        post({ type: 'run', id, job });
      }),
    close: async () => {
      const closing = thread;
      thread = null;
      await closing?.terminate();
    },
  };
}
