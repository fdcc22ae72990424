// Entry of a method thread: runs explanation methods (JavaScript only, no TensorFlow.js) and has
// its compute thread run the model. While the model works on one batch of rows, this thread
// builds the next one and solves what came back, so the two overlap on separate cores.
import { parentPort } from 'node:worker_threads';
import { RowBuffers, type ModelEvaluator } from '../explain/coalition-values.js';
import { describeError, rebuildError } from './compute-protocol.js';
import type { MethodJob, MethodMessage, MethodRequest } from './method-protocol.js';
import { runMethod } from './methods.js';

const port = parentPort;
if (!port) throw new Error('method-thread runs only as a worker thread');

const rowBuffers = new RowBuffers(true);
/** A model call waiting for the compute thread's answer. */
interface PendingCall {
  resolve: (outputs: ArrayLike<number>) => void;
  reject: (err: Error) => void;
  into?: Float32Array;
}

const calls = new Map<number, PendingCall>();
let nextCall = 1;

function send(message: MethodMessage): void {
  port!.postMessage(message);
}

/** Runs the model in the compute thread, on behalf of job `id`. */
function remoteEvaluator(id: number): ModelEvaluator {
  return (rows, rowCount, into) =>
    new Promise((resolve, reject) => {
      const call = nextCall++;
      // Only shared memory can be written by the other thread; any other buffer would be copied.
      const shared = into?.buffer instanceof SharedArrayBuffer ? into : undefined;
      calls.set(call, { resolve, reject, into: shared });
      send({ type: 'evaluate', id, call, rows, rowCount, into: shared });
    });
}

async function run(id: number, job: MethodJob): Promise<void> {
  try {
    const result = await runMethod({
      ...job,
      evaluate: remoteEvaluator(id),
      rowBuffers,
      onProgress: (fraction) => send({ type: 'progress', id, fraction }),
    });
    send({ type: 'done', id, result });
  } catch (err) {
    send({ type: 'error', id, error: describeError(err) });
  }
}

port.on('message', (message: MethodRequest) => {
  if (message.type === 'run') {
    void run(message.id, message.job);
    return;
  }
  const pending = calls.get(message.call);
  calls.delete(message.call);
  if (message.type === 'evaluated') pending?.resolve(message.outputs ?? pending.into!);
  else pending?.reject(rebuildError(message.error));
});
