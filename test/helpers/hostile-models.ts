// Small hand-written model.json files, well-formed and hostile, for upload tests.
import type { ModelFiles } from './fixtures.js';

/** A hand-written model as the files an upload sends: its model.json as text. */
export function asModelFiles(model: {
  modelJson: Record<string, any>;
  weights: Map<string, Buffer>;
}): ModelFiles {
  return { modelJson: JSON.stringify(model.modelJson), weights: model.weights };
}

/** A three-layer functional LayersModel: input x (3) -> Dense hidden (2) -> Dense out (1). */
export function functionalModel(): {
  modelJson: Record<string, any>;
  weights: Map<string, Buffer>;
} {
  const dense = (name: string, units: number, from: string) => ({
    name,
    class_name: 'Dense',
    config: { name, units, activation: 'linear', use_bias: true, trainable: true },
    inbound_nodes: [[[from, 0, 0, {}]]],
  });
  const modelJson = {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Model',
      config: {
        name: 'small',
        layers: [
          {
            name: 'x',
            class_name: 'InputLayer',
            config: { batch_input_shape: [null, 3], dtype: 'float32', sparse: false, name: 'x' },
            inbound_nodes: [],
          },
          dense('hidden', 2, 'x'),
          dense('out', 1, 'hidden'),
        ],
        input_layers: [['x', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
    },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'hidden/kernel', shape: [3, 2], dtype: 'float32' },
          { name: 'hidden/bias', shape: [2], dtype: 'float32' },
          { name: 'out/kernel', shape: [2, 1], dtype: 'float32' },
          { name: 'out/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  const values = new Float32Array([1, 0, 0, 1, 1, 1, 0, 0, 2, 3, 0.5]);
  return { modelJson, weights: new Map([['weights.bin', Buffer.from(values.buffer)]]) };
}

/** The functional model with one layer taking input from a layer that does not exist. */
export function danglingLinkModel() {
  const model = functionalModel();
  model.modelJson.modelTopology.config.layers[2].inbound_nodes = [[['ghost', 0, 0, {}]]];
  return model;
}

/** A GraphModel: Placeholder x [-1, 3] -> `op` -> output. */
export function graphModel(op: string) {
  const modelJson = {
    format: 'graph-model',
    modelTopology: {
      node: [
        {
          name: 'x',
          op: 'Placeholder',
          attr: {
            dtype: { type: 'DT_FLOAT' },
            shape: { shape: { dim: [{ size: '-1' }, { size: '3' }] } },
          },
        },
        {
          name: 'y',
          op,
          input: ['x'],
          attr: { T: { type: 'DT_FLOAT' } } as Record<string, unknown>,
        },
      ],
      library: {},
      versions: { producer: 1 },
    },
    weightsManifest: [],
  };
  return { modelJson, weights: new Map<string, Buffer>() };
}

/** A GraphModel whose op (Einsum) TensorFlow.js knows but the wasm backend has no kernel for. */
export function einsumGraphModel() {
  const model = graphModel('Einsum');
  model.modelJson.modelTopology.node[1].attr = {
    equation: { s: Buffer.from('ij->ij').toString('base64') },
    N: { i: '1' },
    T: { type: 'DT_FLOAT' },
  };
  return model;
}
