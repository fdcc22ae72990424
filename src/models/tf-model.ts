// Loads checked artifacts into TensorFlow.js, describes the model and runs batched predictions.
import * as tf from '@tensorflow/tfjs';
import { GlassboxError, type FieldProblem } from '../errors.js';
import type { ModelArtifacts, ModelFormat } from './artifacts.js';

export type LoadedModel = tf.LayersModel | tf.GraphModel;

export interface TensorDescription {
  name: string;
  shape: (number | null)[];
  dtype?: string;
}

export interface LayerDescription {
  name: string;
  className: string;
  outputShape: unknown;
}

/** What the API reports about a model's structure. */
export interface ModelStructure {
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  layers: LayerDescription[];
  /** Values in one input row (product of the non-batch input dims); null when not fixed. */
  featureCount: number | null;
  /** Values in one output row; null when not fixed. */
  outputCount: number | null;
}

/**
 * Loads a model from memory with strict weight matching: every weight the topology needs must be
 * present under its own name, and no weight may be left over.
 * @throws GlassboxError GBX_ERR_UPLOAD_INVALID listing mismatched weight names, or
 *   GBX_ERR_UPLOAD_UNSUPPORTED naming a GraphModel op TensorFlow.js does not have.
 */
export async function loadModel(artifacts: ModelArtifacts): Promise<LoadedModel> {
  try {
    if (artifacts.format === 'graph-model') {
      return await tf.loadGraphModel(memoryHandler(artifacts, true));
    }
    return await loadLayersStrict(artifacts);
  } catch (err) {
    throw asLoadError(err, artifacts.format);
  }
}

function memoryHandler(artifacts: ModelArtifacts, withWeights: boolean): tf.io.IOHandler {
  const json = artifacts.modelJson;
  return {
    load: async () => ({
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      format: json.format,
      generatedBy: json.generatedBy as string | undefined,
      convertedBy: json.convertedBy as string | undefined,
      signature: json.signature as tf.io.ModelArtifacts['signature'],
      userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
      modelInitializer: json.modelInitializer as tf.io.ModelArtifacts['modelInitializer'],
      ...(withWeights
        ? { weightSpecs: manifestEntries(artifacts), weightData: artifacts.weightData }
        : {}),
    }),
  };
}

function manifestEntries(artifacts: ModelArtifacts): tf.io.WeightsManifestEntry[] {
  return artifacts.weightSpecs as tf.io.WeightsManifestEntry[];
}

/**
 * Builds the layers first, then sets the weights strictly, so that a name mismatch can be
 * reported in full: tfjs itself stops at the first name it cannot place.
 */
async function loadLayersStrict(artifacts: ModelArtifacts): Promise<tf.LayersModel> {
  const model = await tf.loadLayersModel(memoryHandler(artifacts, false));
  const weights = tf.io.decodeWeights(artifacts.weightData, manifestEntries(artifacts));
  try {
    model.loadWeights(weights, true);
    return model;
  } catch (err) {
    const problems = weightNameProblems(model, artifacts.weightSpecs.map((s) => s.name));
    model.dispose();
    if (problems.length === 0) throw err;
    const detail = problems.map((p) => p.message).join('; ');
    throw new GlassboxError('GBX_ERR_UPLOAD_INVALID', detail, problems, { cause: err });
  } finally {
    tf.dispose(Object.values(weights));
  }
}

/** Names the layers need but the manifest lacks, and names the manifest has that no layer takes. */
export function weightNameProblems(model: tf.LayersModel, given: string[]): FieldProblem[] {
  const needed = model.weights.map((w) => (w as unknown as { originalName: string }).originalName);
  const neededSet = new Set(needed);
  // tfjs also places `layer/cell/weight` as `layer/weight` (weights saved by TF 2.2 and later).
  const target = (name: string) => {
    if (neededSet.has(name)) return name;
    const tokens = name.split('/');
    const short = [...tokens.slice(0, -2), tokens[tokens.length - 1]].join('/');
    return neededSet.has(short) ? short : undefined;
  };
  const placed = new Set(given.map(target));
  const missing = needed.filter((name) => !placed.has(name));
  const unexpected = given.filter((name) => target(name) === undefined);
  const problems: FieldProblem[] = [];
  if (missing.length > 0) {
    problems.push({
      path: 'model.weightsManifest',
      message: `weights the layers need but the manifest lacks: ${missing.join(', ')}`,
    });
  }
  if (unexpected.length > 0) {
    problems.push({
      path: 'model.weightsManifest',
      message: `weights in the manifest that no layer takes: ${unexpected.join(', ')}`,
    });
  }
  return problems;
}

const UNKNOWN_OP = /Unknown op '([^']+)'|Op is not supported: ([^\s.]+)/;
const MISSING_KERNEL = /Kernel '([^']+)' not registered for backend '([^']+)'/;

/** A failed load as the client sees it: a bad upload, or an op TensorFlow.js cannot run. */
export function asLoadError(err: unknown, format: ModelFormat): GlassboxError {
  if (err instanceof GlassboxError) return err;
  const message = (err as Error)?.message ?? String(err);
  const unknownOp = UNKNOWN_OP.exec(message);
  const missingKernel = MISSING_KERNEL.exec(message);
  if (unknownOp || missingKernel) {
    const detail = unknownOp
      ? `op ${unknownOp[1] ?? unknownOp[2]} is not one TensorFlow.js can run`
      : `op ${missingKernel![1]} has no kernel on the ${missingKernel![2]} backend the workers use`;
    const problems = [{ path: 'model', message: detail }];
    return new GlassboxError('GBX_ERR_UPLOAD_UNSUPPORTED', detail, problems, { cause: err });
  }
  return new GlassboxError(
    'GBX_ERR_UPLOAD_INVALID',
    `TensorFlow.js cannot load this ${format}: ${message}`,
    [{ path: 'model', message }],
    { cause: err },
  );
}

/** Inputs, outputs and layers of a loaded model. */
export function describeModel(model: LoadedModel, format: ModelFormat): ModelStructure {
  const inputs = model.inputs.map(describeTensor);
  const outputs = model.outputs.map(describeTensor);
  const layers =
    format === 'layers-model'
      ? (model as tf.LayersModel).layers.map((layer) => ({
          name: layer.name,
          className: layer.getClassName(),
          outputShape: layer.outputShape,
        }))
      : [];
  return {
    inputs,
    outputs,
    layers,
    featureCount: inputs.length === 1 ? rowSize(inputs[0].shape) : null,
    outputCount: outputs.length === 1 ? rowSize(outputs[0].shape) : null,
  };
}

function describeTensor(t: { name: string; shape?: (number | null)[]; dtype?: string }) {
  return { name: t.name, shape: (t.shape ?? []).map((d) => (d === -1 ? null : d)), dtype: t.dtype };
}

function rowSize(shape: (number | null)[]): number | null {
  const dims = shape.slice(1);
  if (shape.length === 0 || dims.some((d) => d === null || d <= 0)) return null;
  return dims.reduce<number>((a, b) => a * (b as number), 1);
}

/**
 * Fills in output sizes a graph does not declare (GraphModels carry no output shapes) by running
 * the model once on a row of zeros. Also proves that the model runs on this backend.
 */
export async function probeOutputs(
  model: LoadedModel,
  structure: ModelStructure,
): Promise<ModelStructure> {
  const { featureCount, outputs } = structure;
  if (structure.outputCount !== null || featureCount === null || outputs.length !== 1) {
    return structure;
  }
  let output: Float32Array;
  try {
    output = await predictRows(model, structure.inputs[0].shape, new Float32Array(featureCount), 1);
  } catch (err) {
    const reason = (err as Error).message;
    throw new GlassboxError(
      'GBX_ERR_UPLOAD_INVALID',
      `the model failed its first run on a row of zeros: ${reason}`,
      [{ path: 'model', message: reason }],
      { cause: err },
    );
  }
  return {
    ...structure,
    outputs: [{ ...structure.outputs[0], shape: [null, output.length] }],
    outputCount: output.length,
  };
}

/**
 * Runs the model on flat rows and returns the outputs flat, row-major.
 * The whole array goes through in one call. A LayersModel runs through `apply` in inference
 * mode: `predict` would cut the input into batches (of 32 rows by default), and even in one
 * batch it copies the input out of the backend and back, which on a small network costs as
 * much as the network itself.
 */
export async function predictRows(
  model: LoadedModel,
  inputShape: (number | null)[],
  rows: Float32Array,
  rowCount: number,
): Promise<Float32Array> {
  const shape = [rowCount, ...inputShape.slice(1).map((d) => d as number)];
  const output = tf.tidy(() => {
    const input = tf.tensor(rows, shape, 'float32');
    const result =
      model instanceof tf.GraphModel
        ? (model.predict(input) as tf.Tensor)
        : (model.apply(input, { training: false }) as tf.Tensor);
    return result.reshape([rowCount, -1]);
  });
  try {
    return (await output.data()) as Float32Array;
  } finally {
    output.dispose();
  }
}

/** Releases a model's weights. */
export function disposeModel(model: LoadedModel): void {
  model.dispose();
}

/**
 * Runs the model once on a row of zeros, so that missing kernels and shape errors surface at
 * upload rather than in the first job. Models without a fixed single input are not run.
 */
export async function firstRun(model: LoadedModel, structure: ModelStructure): Promise<void> {
  if (structure.featureCount === null || structure.inputs.length !== 1) return;
  await predictRows(model, structure.inputs[0].shape, new Float32Array(structure.featureCount), 1);
}
