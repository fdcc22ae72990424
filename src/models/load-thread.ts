// Worker-thread entry: loads an uploaded model, runs it once and reports its structure. A model
// that hangs TensorFlow.js hangs only this thread, which the API terminates at its time limit.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { TfjsBackendChoice } from '../config/index.js';
import { GlassboxError } from '../errors.js';
import { selectBackend } from '../tf/backend.js';
import type { ModelArtifacts } from './artifacts.js';
import {
  asLoadError,
  describeModel,
  disposeModel,
  firstRun,
  loadModel,
  probeOutputs,
} from './tf-model.js';

/** What the thread receives. */
export interface LoadRequest {
  backend: TfjsBackendChoice;
  artifacts: ModelArtifacts;
}

async function check({ backend, artifacts }: LoadRequest) {
  // The thread's stdout is the API's log stream: keep TensorFlow.js's console notices out of it.
  tf.env().set('PROD', true);
  const selected = await selectBackend(backend);
  const model = await loadModel(artifacts);
  try {
    const described = describeModel(model, artifacts.format);
    await firstRun(model, described).catch((err) => {
      throw asLoadError(err, artifacts.format);
    });
    const structure = await probeOutputs(model, described);
    return { ok: true as const, structure, backend: selected.backend };
  } finally {
    disposeModel(model);
  }
}

check(workerData as LoadRequest).then(
  (answer) => parentPort?.postMessage(answer),
  (err: unknown) => {
    const failure =
      err instanceof GlassboxError
        ? err
        : asLoadError(err, (workerData as LoadRequest).artifacts.format);
    parentPort?.postMessage({
      ok: false,
      error: { code: failure.code, message: failure.message, problems: failure.problems },
    });
  },
);
