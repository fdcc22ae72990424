// Runs one explanation job in this thread: the model from the cache, the method from methods.ts.
import { predictRows } from '../models/tf-model.js';
import type { ModelEvaluator } from '../explain/coalition-values.js';
import type { CachedModel } from './model-cache.js';
import { runMethod, type ExplanationJobResult, type MethodRun } from './methods.js';

export { LIME_DEFAULTS, type ExplanationJobResult } from './methods.js';

/** A method run whose model is a loaded one in this thread. */
export interface ExplanationRun extends Omit<MethodRun, 'record' | 'evaluate'> {
  cached: CachedModel;
}

/** Runs a cached model on flat rows, in this thread's TensorFlow.js backend. */
export function modelEvaluator(cached: CachedModel): ModelEvaluator {
  const inputShape = cached.record.inputs[0].shape;
  return (rows, rowCount) => predictRows(cached.model, inputShape, rows, rowCount);
}

export function runExplanation(run: ExplanationRun): Promise<ExplanationJobResult> {
  const { cached, ...rest } = run;
  return runMethod({ ...rest, record: cached.record, evaluate: modelEvaluator(cached) });
}
