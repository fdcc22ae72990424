// Loads an uploaded model in a worker thread under a time limit, so that no upload can stall the
// process that received it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TfjsBackendChoice } from '../config/index.js';
import { GlassboxError, type ErrorCode, type FieldProblem } from '../errors.js';
import type { ModelArtifacts } from './artifacts.js';
import type { ModelStructure } from './tf-model.js';

export interface IsolatedLoadOptions {
  backend: TfjsBackendChoice;
  timeoutMs: number;
}

type ThreadAnswer =
  | { ok: true; structure: ModelStructure; backend: string }
  | { ok: false; error: { code: ErrorCode; message: string; problems: FieldProblem[] } };

/**
 * Loads and runs the model once in a fresh worker thread and returns its structure.
 * @throws GlassboxError from the load (bad or unsupported model), or GBX_ERR_UPLOAD_TIMEOUT when
 *   the thread has not answered within `timeoutMs`; the thread is terminated either way.
 */
export async function checkModelIsolated(
  artifacts: ModelArtifacts,
  options: IsolatedLoadOptions,
): Promise<ModelStructure> {
  const worker = startThread({ backend: options.backend, artifacts });
  try {
    const answer = await answerWithin(worker, options.timeoutMs);
    if (!answer.ok)
      throw new GlassboxError(answer.error.code, answer.error.message, answer.error.problems);
    return answer.structure;
  } finally {
    await worker.terminate();
  }
}

function startThread(workerData: unknown): Worker {
  const entry = new URL(
    `./load-thread${path.extname(new URL(import.meta.url).pathname)}`,
    import.meta.url,
  );
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // Running from source (tests): register the TypeScript loader inside the thread first.
  const tsx = pathToFileURL(tsxLoaderPath()).href;
  const boot =
    `import { register } from ${JSON.stringify(tsx)}; register(); ` +
    `await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}

/** The ES-module entry of tsx's loader API (`require.resolve` would give the CommonJS one). */
function tsxLoaderPath(): string {
  const packageJson = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = JSON.parse(readFileSync(packageJson, 'utf8')).exports as Record<string, any>;
  return path.join(path.dirname(packageJson), exports['./esm/api'].import.default as string);
}

function answerWithin(worker: Worker, timeoutMs: number): Promise<ThreadAnswer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new GlassboxError(
          'GBX_ERR_UPLOAD_TIMEOUT',
          `TensorFlow.js did not load and run the model within ${timeoutMs} ms; ` +
            'the model was not stored',
        ),
      );
    }, timeoutMs);
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      fn();
    };
    worker.once('message', (answer: ThreadAnswer) => settle(() => resolve(answer)));
    worker.once('error', (err) =>
      settle(() =>
        reject(
          new GlassboxError('GBX_ERR_MODEL_LOAD', 'the model check failed', [], { cause: err }),
        ),
      ),
    );
    worker.once('exit', (code) =>
      settle(() =>
        reject(new GlassboxError('GBX_ERR_MODEL_LOAD', `the model check thread exited (${code})`)),
      ),
    );
  });
}
