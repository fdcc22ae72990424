// A pool of long-lived compute threads, one per concurrency slot: the main thread only passes
// messages, so BullMQ lock renewal, progress reports and health answers stay on time while the
// threads run the models.
import type { Worker } from 'node:worker_threads';
import type { ExplanationPayload } from '../jobs/queue.js';
import type { Logger } from '../log/logger.js';
import type { ComputeMemory, ComputeOutcome, ExplanationCompute } from './compute.js';
import {
  rebuildError,
  type ThreadMessage,
  type ThreadRequest,
  type ThreadSettings,
  type ThreadStart,
} from './compute-protocol.js';
import { spawnThread } from './spawn-thread.js';

export interface ComputePoolOptions extends ThreadSettings {
  /** Threads in the pool: the worker's concurrency. */
  size: number;
  logger: Logger;
}

/** A compute pool that can also say when its threads are up. */
export interface ComputePool extends ExplanationCompute {
  /** Resolves with each thread's backend once all have started; rejects when one cannot. */
  ready: Promise<string[]>;
}

/** A request before it is numbered. */
type ThreadCall = { type: 'memory' };

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  onProgress?: (fraction: number) => void;
}

/** One thread and the requests it has not answered yet. */
class ComputeThread {
  readonly ready: Promise<string>;
  busy = false;
  private readonly worker: Worker;
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;

  constructor(settings: ThreadSettings, onExit: (thread: ComputeThread, code: number) => void) {
    this.worker = spawnThread('compute-thread', import.meta.url, {
      ...settings,
      cancelFlag: this.cancelFlag,
    } satisfies ThreadStart);
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: ThreadMessage) => {
        if (message.type === 'ready') resolve(message.backend);
        else if (message.type === 'failed') reject(rebuildError(message.error));
        else this.receive(message);
      });
      this.worker.on('error', (err) => {
        reject(err);
        this.failAll(err);
      });
      this.worker.on('exit', (code) => {
        reject(new Error(`compute thread exited with code ${code} before it was ready`));
        this.failAll(new Error(`compute thread exited with code ${code}`));
        if (!this.closing) onExit(this, code);
      });
    });
    // Start-up failures reach callers through ready; this keeps them from being unhandled.
    this.ready.catch(() => undefined);
  }

  request<T>(call: ThreadCall, onProgress?: Pending['onProgress']): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject, onProgress });
      this.worker.postMessage({ ...call, id } satisfies ThreadRequest);
    });
  }

  /**
   * Runs one explanation. Each progress report from the thread also runs `checkCancelled` here,
   * in the main thread (it reads Redis); when that throws, the thread is told to stop at its
   * next batch and the job rejects with what it threw.
   */
  explain(
    payload: ExplanationPayload,
    onProgress: (fraction: number) => void,
    checkCancelled?: () => Promise<void>,
  ): Promise<ComputeOutcome> {
    const id = this.nextId++;
    let stopReason: Error | null = null;
    return new Promise<ComputeOutcome>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as Pending['resolve'],
        reject: (err) => reject(stopReason ?? err),
        onProgress: (fraction) => {
          onProgress(fraction);
          checkCancelled?.().catch((err: Error) => {
            if (stopReason) return;
            stopReason = err;
            Atomics.store(this.cancelFlag, 0, id);
          });
        },
      });
      this.worker.postMessage({ type: 'explain', id, payload } satisfies ThreadRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      this.worker.on('message', (message: ThreadMessage) => message.type === 'closed' && resolve());
      this.worker.on('exit', () => resolve());
    });
    this.worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.worker.terminate();
  }

  private receive(message: ThreadMessage): void {
    if (!('id' in message)) return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'progress') {
      pending.onProgress?.(message.fraction);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === 'done') pending.resolve(message.outcome as never);
    else if (message.type === 'memory') pending.resolve(message.memory as never);
    else if (message.type === 'error') pending.reject(rebuildError(message.error));
  }

  private failAll(err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}

/**
 * Starts `size` compute threads. A thread that dies (out of memory, say) fails the job it was
 * running, which BullMQ retries, and is replaced.
 */
export function createComputePool(options: ComputePoolOptions): ComputePool {
  const { size, logger, ...settings } = options;
  const idle: ComputeThread[] = [];
  const waiting: { resolve: (thread: ComputeThread) => void; reject: (err: Error) => void }[] = [];
  const threads: ComputeThread[] = [];
  let startFailure: Error | null = null;

  const release = (thread: ComputeThread): void => {
    thread.busy = false;
    const next = waiting.shift();
    if (next) {
      thread.busy = true;
      next.resolve(thread);
    } else idle.push(thread);
  };
  const replace = (dead: ComputeThread, code: number): void => {
    logger.warn({ exitCode: code }, 'compute thread stopped; starting another');
    threads.splice(threads.indexOf(dead), 1);
    const at = idle.indexOf(dead);
    if (at >= 0) idle.splice(at, 1);
    const fresh = start();
    fresh.ready
      .then(() => release(fresh))
      .catch((err) => {
        logger.error({ err }, 'replacement compute thread failed to start');
      });
  };
  const start = (): ComputeThread => {
    const thread = new ComputeThread(settings, replace);
    threads.push(thread);
    return thread;
  };
  const acquire = (): Promise<ComputeThread> => {
    if (startFailure) return Promise.reject(startFailure);
    const thread = idle.shift();
    if (thread) {
      thread.busy = true;
      return Promise.resolve(thread);
    }
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };

  for (let i = 0; i < size; i++) start();
  const ready = Promise.all(threads.map((t) => t.ready));
  // Jobs may arrive before the threads are up: they wait in `waiting` until then.
  ready.then(
    () => threads.forEach((t) => release(t)),
    (err: Error) => {
      startFailure = err;
      for (const waiter of waiting.splice(0)) waiter.reject(err);
    },
  );

  return {
    ready,
    explain: async (payload, onProgress, checkCancelled) => {
      const thread = await acquire();
      try {
        return await thread.explain(payload, onProgress, checkCancelled);
      } finally {
        if (threads.includes(thread)) release(thread);
      }
    },
    memory: () => Promise.all(threads.map((t) => t.request<ComputeMemory>({ type: 'memory' }))),
    close: async () => {
      await Promise.all(threads.map((t) => t.close()));
    },
  };
}
