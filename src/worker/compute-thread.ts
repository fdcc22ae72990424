// Entry of one compute thread: its own TensorFlow.js backend and model cache, driven by messages
// from the pool in the main thread (compute-pool.ts), so that heavy work never blocks the loop
// that renews job locks and answers health checks.
import { parentPort, workerData } from 'node:worker_threads';
import { ModelStore } from '../models/store.js';
import { selectBackend } from '../tf/backend.js';
import { createLocalCompute, type ExplanationCompute } from './compute.js';
import { createMethodHost } from './method-host.js';
import {
  describeError,
  type ThreadMessage,
  type ThreadRequest,
  type ThreadStart,
} from './compute-protocol.js';

const port = parentPort;
if (!port) throw new Error('compute-thread runs only as a worker thread');
const settings = workerData as ThreadStart;

function send(message: ThreadMessage): void {
  port!.postMessage(message);
}

async function handle(compute: ExplanationCompute, request: ThreadRequest): Promise<void> {
  if (request.type === 'explain') {
    const { id } = request;
    // Read between model batches; the main thread writes the flag when the job is cancelled.
    const checkCancelled = async () => {
      if (Atomics.load(settings.cancelFlag, 0) === id)
        throw new Error('cancelled by the main thread');
    };
    try {
      const outcome = await compute.explain(
        request.payload,
        (fraction) => send({ type: 'progress', id, fraction }),
        checkCancelled,
      );
      send({ type: 'done', id, outcome });
    } catch (err) {
      send({ type: 'error', id, error: describeError(err) });
    }
  } else if (request.type === 'memory') {
    send({ type: 'memory', id: request.id, memory: (await compute.memory())[0] });
  } else {
    await compute.close();
    send({ type: 'closed' });
  }
}

async function start(): Promise<void> {
  const selection = await selectBackend(settings.backend);
  const compute = createLocalCompute(new ModelStore(settings.storeDir), {
    ...settings,
    methods: createMethodHost(),
  });
  port!.on('message', (request: ThreadRequest) => void handle(compute, request));
  send({ type: 'ready', backend: selection.backend });
}

start().catch((err) => send({ type: 'failed', error: describeError(err) }));
