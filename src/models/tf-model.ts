// Loads checked artifacts into TensorFlow.js, describes the model and runs batched predictions.
import * as tf from '@tensorflow/tfjs';
import { GlassboxError } from '../errors.js';
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
 */
export async function loadModel(artifacts: ModelArtifacts): Promise<LoadedModel> {
  const json = artifacts.modelJson;
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      format: json.format,
      generatedBy: json.generatedBy as string | undefined,
      convertedBy: json.convertedBy as string | undefined,
      signature: json.signature as tf.io.ModelArtifacts['signature'],
      userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
      modelInitializer: json.modelInitializer as tf.io.ModelArtifacts['modelInitializer'],
      weightSpecs: artifacts.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: artifacts.weightData,
    }),
  };
  try {
    if (artifacts.format === 'graph-model') return await tf.loadGraphModel(handler);
    return await tf.loadLayersModel(handler, { strict: true });
  } catch (err) {
    throw new GlassboxError(
      'GBX_ERR_UPLOAD_INVALID',
      `TensorFlow.js cannot load this ${artifacts.format}: ${(err as Error).message}`,
      [{ path: 'model', message: (err as Error).message }],
      { cause: err },
    );
  }
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
 * The whole array goes through in one call: LayersModel.predict would otherwise cut it into
 * batches of 32 rows, many times slower.
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
        : (model.predict(input, { batchSize: rowCount }) as tf.Tensor);
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
