// Loads a fixture model into TensorFlow.js on the wasm backend as a batched evaluator.
import { checkArtifacts } from '../../src/models/artifacts.js';
import { loadModel, predictRows, type LoadedModel } from '../../src/models/tf-model.js';
import type { ModelEvaluator } from '../../src/explain/coalition-values.js';
import { selectBackend } from '../../src/tf/backend.js';
import { fixtureModelDir, modelFiles } from './fixtures.js';

export interface FixtureModel {
  model: LoadedModel;
  evaluate: ModelEvaluator;
}

export async function loadFixtureModel(name: string): Promise<FixtureModel> {
  await selectBackend('wasm');
  const files = modelFiles(fixtureModelDir(name));
  const model = await loadModel(checkArtifacts(files.modelJson, files.weights));
  const inputShape = (model.inputs[0].shape ?? []).map((d) => (d === -1 ? null : d));
  return {
    model,
    evaluate: (rows, rowCount) => predictRows(model, inputShape, rows, rowCount),
  };
}
