// A GraphModel written by hand: the breast-cancer network (30 -> 16 relu -> 1 sigmoid) as a
// TensorFlow GraphDef of MatMul, BiasAdd, Relu and Sigmoid over the fixture's own weight file.
import { fixtureModelDir, modelFiles, type ModelFiles } from './fixtures.js';

const float = { type: 'DT_FLOAT' };

function constant(name: string, dims: number[]) {
  return {
    name,
    op: 'Const',
    attr: {
      value: {
        tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } },
      },
      dtype: float,
    },
  };
}

function dense(prefix: string, input: string, activation: 'Relu' | 'Sigmoid') {
  return [
    {
      name: `${prefix}/MatMul`,
      op: 'MatMul',
      input: [input, `${prefix}/kernel`],
      attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } },
    },
    {
      name: `${prefix}/BiasAdd`,
      op: 'BiasAdd',
      input: [`${prefix}/MatMul`, `${prefix}/bias`],
      attr: { T: float },
    },
    {
      name: `${prefix}/${activation}`,
      op: activation,
      input: [`${prefix}/BiasAdd`],
      attr: { T: float },
    },
  ];
}

/** model.json text and weights of the hand-written GraphModel. */
export function breastCancerGraphModel(): ModelFiles {
  const layers = modelFiles(fixtureModelDir('breast-cancer'));
  const nodes = [
    {
      name: 'features',
      op: 'Placeholder',
      attr: { dtype: float, shape: { shape: { dim: [{ size: '-1' }, { size: '30' }] } } },
    },
    constant('hidden/kernel', [30, 16]),
    constant('hidden/bias', [16]),
    constant('output/kernel', [16, 1]),
    constant('output/bias', [1]),
    ...dense('hidden', 'features', 'Relu'),
    ...dense('output', 'hidden/Relu', 'Sigmoid'),
  ];
  const json = {
    format: 'graph-model',
    generatedBy: 'hand-written test model',
    convertedBy: null,
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'hidden/kernel', shape: [30, 16], dtype: 'float32' },
          { name: 'hidden/bias', shape: [16], dtype: 'float32' },
          { name: 'output/kernel', shape: [16, 1], dtype: 'float32' },
          { name: 'output/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  return { modelJson: JSON.stringify(json), weights: layers.weights };
}
