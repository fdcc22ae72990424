// Activation probe for a LayersModel: every layer's output, nested models included.
import * as tf from '@tensorflow/tfjs';
import type { BatchNormParams } from './batch-norm-drift.js';
import type { ActivationProbe, ProbeTarget, TapVisitor } from './probe.js';

type SymbolicTensor = tf.SymbolicTensor;
type Layer = tf.layers.Layer;

/** Which layer paths are reported; a nested model is entered when a path inside it is wanted. */
export interface LayerSelection {
  wants(path: string): boolean;
  wantsInside(path: string): boolean;
}

interface Tap {
  target: number;
  role: 'output' | 'batchNormInput';
  fetch: number;
}

interface NestedRun {
  plan: ContainerPlan;
  /** Indices into the probe's fetched tensors, in the nested model's input order. */
  inputFetches: number[];
}

/** One container (model) of the tree: a probe model over its own graph, its taps, its children. */
interface ContainerPlan {
  probe: tf.LayersModel | null;
  fetchCount: number;
  taps: Tap[];
  nested: NestedRun[];
}

/**
 * Builds a probe for a LayersModel. For each model in the tree (the model itself and every model
 * used as a layer inside it) one extra `tf.model` is built over the same layers, with the outputs
 * of the selected layers (and the inputs of BN layers and nested models) as its outputs; it
 * shares the weights and is never disposed, since disposing it would free them.
 * @param model - the loaded model; must have exactly one input.
 * @param selection - which layer paths to report.
 */
export async function buildLayersProbe(
  model: tf.LayersModel,
  selection: LayerSelection,
): Promise<ActivationProbe> {
  const targets: ProbeTarget[] = [];
  const root = await planContainer(model, '', selection, targets);

  return {
    targets,
    notes: [],
    run: async (input, rowCount, visit) => {
      const shape = [rowCount, ...model.inputs[0].shape.slice(1).map((d) => d as number)];
      const tensor = tf.tensor(input, shape, 'float32');
      try {
        await runContainer(root, [tensor], visit);
      } finally {
        tensor.dispose();
      }
    },
  };
}

/** The graph holding a container's layer calls (a Sequential keeps an inner one). */
function graphOf(container: tf.LayersModel): tf.LayersModel {
  if (!(container instanceof tf.Sequential)) return container;
  const holder = container as unknown as { model?: tf.LayersModel };
  // A loaded Sequential builds its inner graph on first use.
  if (!holder.model) container.build();
  if (!holder.model) throw new Error(`Sequential model ${container.name} has no graph`);
  return holder.model;
}

/** The calls of `layer` that belong to `graph`, each with its output tensors. */
function nodesIn(graph: tf.LayersModel, layer: Layer) {
  const nodes = (
    layer as unknown as {
      inboundNodes: { inputTensors: SymbolicTensor[]; outputTensors: SymbolicTensor[] }[];
    }
  ).inboundNodes;
  return nodes.filter((_, i) => graph.containerNodes.has(`${layer.name}_ib-${i}`));
}

async function planContainer(
  container: tf.LayersModel,
  prefix: string,
  selection: LayerSelection,
  targets: ProbeTarget[],
): Promise<ContainerPlan> {
  const graph = graphOf(container);
  const fetched: SymbolicTensor[] = [];
  const fetchIndex = (t: SymbolicTensor): number => {
    const at = fetched.findIndex((f) => f.id === t.id);
    if (at >= 0) return at;
    fetched.push(t);
    return fetched.length - 1;
  };
  const taps: Tap[] = [];
  const nested: NestedRun[] = [];

  for (const layer of container.layers) {
    const nodes = nodesIn(graph, layer);
    for (const [n, node] of nodes.entries()) {
      const path = prefix + layer.name + (nodes.length > 1 ? `:${n}` : '');
      if (selection.wants(path)) {
        for (const [k, output] of node.outputTensors.entries()) {
          const name = path + (node.outputTensors.length > 1 ? `[${k}]` : '');
          const target = targets.length;
          targets.push(await describeLayer(layer, name));
          taps.push({ target, role: 'output', fetch: fetchIndex(output) });
          if (targets[target].batchNorm) {
            taps.push({ target, role: 'batchNormInput', fetch: fetchIndex(node.inputTensors[0]) });
          }
        }
      }
      if (layer instanceof tf.LayersModel && selection.wantsInside(path)) {
        const plan = await planContainer(layer, `${path}/`, selection, targets);
        nested.push({ plan, inputFetches: node.inputTensors.map(fetchIndex) });
      }
    }
  }
  const probe = fetched.length > 0 ? tf.model({ inputs: graph.inputs, outputs: fetched }) : null;

  return { probe, fetchCount: fetched.length, taps, nested };
}

async function describeLayer(layer: Layer, name: string): Promise<ProbeTarget> {
  const className = layer.getClassName();
  const target: ProbeTarget = { name, className, declaredShape: layer.outputShape };
  if (className === 'BatchNormalization') target.batchNorm = await readBatchNormParams(layer);
  return target;
}

/**
 * Weights and settings of a BatchNormalization layer, found by their weight names (`gamma`,
 * `beta`, `moving_mean`, `moving_variance`) so that layers built with `scale: false` or
 * `center: false` (no gamma or no beta) are read correctly.
 * @throws Error when the moving statistics are missing.
 */
export async function readBatchNormParams(layer: Layer): Promise<BatchNormParams> {
  const config = layer.getConfig() as { axis?: number | number[]; epsilon?: number };
  const byRole = new Map<string, number[]>();
  for (const weight of layer.weights) {
    const role = weight.originalName.split('/').pop() ?? '';
    byRole.set(role, Array.from(await weight.read().data()));
  }
  const movingMean = byRole.get('moving_mean');
  const movingVariance = byRole.get('moving_variance');
  if (!movingMean || !movingVariance) {
    throw new Error(`BatchNormalization layer ${layer.name} has no moving statistics`);
  }
  const axis = Array.isArray(config.axis) ? config.axis[0] : config.axis;

  return {
    axis: axis ?? -1,
    epsilon: config.epsilon ?? 1e-3,
    gamma: byRole.get('gamma') ?? null,
    beta: byRole.get('beta') ?? null,
    movingMean,
    movingVariance,
  };
}

/** Every BatchNormalization layer of a model, nested ones included, with its full path. */
export async function listBatchNormLayers(
  model: tf.LayersModel,
): Promise<{ name: string; params: BatchNormParams }[]> {
  const found: { name: string; params: BatchNormParams }[] = [];
  const walk = async (container: tf.LayersModel, prefix: string): Promise<void> => {
    for (const layer of container.layers) {
      const path = prefix + layer.name;
      if (layer.getClassName() === 'BatchNormalization') {
        found.push({ name: path, params: await readBatchNormParams(layer) });
      }
      if (layer instanceof tf.LayersModel) await walk(layer, `${path}/`);
    }
  };
  await walk(model, '');

  return found;
}

async function runContainer(
  plan: ContainerPlan,
  inputs: tf.Tensor[],
  visit: TapVisitor,
): Promise<void> {
  if (!plan.probe) return;
  const rowCount = inputs[0].shape[0] as number;
  const fetched = toList(
    plan.probe.predict(inputs.length === 1 ? inputs[0] : inputs, { batchSize: rowCount }),
  );
  try {
    for (const tap of plan.taps) {
      const tensor = fetched[tap.fetch];
      const values = (await tensor.data()) as Float32Array;
      visit(tap.target, tap.role, values, tensor.shape.slice(1));
    }
    for (const child of plan.nested) {
      await runContainer(
        child.plan,
        child.inputFetches.map((i) => fetched[i]),
        visit,
      );
    }
  } finally {
    // A probe whose output is its own input hands that tensor back; the caller owns it.
    for (const tensor of fetched) if (!inputs.includes(tensor)) tensor.dispose();
  }
}

function toList(result: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(result) ? result : [result];
}
