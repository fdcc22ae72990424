// Activation probe for a GraphModel: the outputs of its named intermediate nodes.
import * as tf from '@tensorflow/tfjs';
import type { BatchNormParams } from './batch-norm-drift.js';
import type { ActivationProbe, ProbeTarget, TapRole } from './probe.js';

/** A node of the GraphDef in model.json. */
interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { f?: number; s?: string }>;
}

/** Nodes that hold no per-sample activation: weights, inputs, plumbing. */
export const SKIPPED_OPS = new Set(['Const', 'Placeholder', 'PlaceholderWithDefault', 'NoOp']);
const BATCH_NORM_OPS = new Set(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3']);
/** Names the TensorFlow and Keras exporters give batch-normalization parts. */
const BATCH_NORM_NAME = /batch_?norm|batchnormalization|(^|[/_])bn([/_]|$)/i;

/** TensorFlow's default epsilon for FusedBatchNorm when the attribute is absent. */
const DEFAULT_GRAPH_EPSILON = 1e-4;

/**
 * Builds a probe for a GraphModel from its GraphDef. Every node other than constants and inputs
 * is a target; after a run, nodes whose output has no batch axis (shapes, constants folded at
 * run time) are dropped by the caller. FusedBatchNorm nodes get their scale, offset, mean and
 * variance from the graph's weights, and their first input is tapped for drift.
 * @param model - the loaded GraphModel; must have exactly one input.
 * @param nodes - the GraphDef's nodes (`modelTopology.node` of model.json).
 * @param wants - which node names to report.
 */
export function buildGraphProbe(
  model: tf.GraphModel,
  nodes: GraphNode[],
  wants: (name: string) => boolean,
): ActivationProbe {
  const weights = model.weights;
  const targets: ProbeTarget[] = [];
  const fetchNames: string[] = [];
  const taps: { target: number; role: TapRole; fetch: number }[] = [];
  const fetchIndex = (name: string) => {
    const at = fetchNames.indexOf(name);
    if (at >= 0) return at;
    fetchNames.push(name);
    return fetchNames.length - 1;
  };

  for (const node of nodes) {
    if (SKIPPED_OPS.has(node.op) || !wants(node.name)) continue;
    const target = targets.length;
    const batchNorm = BATCH_NORM_OPS.has(node.op) ? graphBatchNormParams(node, weights) : undefined;
    targets.push({ name: node.name, className: node.op, declaredShape: null, batchNorm });
    taps.push({ target, role: 'output', fetch: fetchIndex(node.name) });
    if (batchNorm)
      taps.push({ target, role: 'batchNormInput', fetch: fetchIndex(inputName(node, 0)) });
  }
  const inputShape = model.inputs[0].shape ?? [];

  return {
    targets,
    notes: graphNotes(nodes, targets),
    run: async (input, rowCount, visit) => {
      const shape = [rowCount, ...inputShape.slice(1).map((d) => (d === -1 ? 1 : d))];
      const tensor = tf.tensor(input, shape, 'float32');
      let fetched: tf.Tensor[] = [];
      try {
        const result = await executeGraph(model, tensor, fetchNames);
        fetched = Array.isArray(result) ? result : [result];
        for (const tap of taps) {
          const t = fetched[tap.fetch];
          // Only per-sample tensors are activations; the caller drops targets never visited.
          if (t.dtype === 'string' || t.rank === 0 || t.shape[0] !== rowCount) continue;
          visit(tap.target, tap.role, Float32Array.from(await t.data()), t.shape.slice(1));
        }
      } finally {
        for (const t of fetched) if (t !== tensor) t.dispose();
        tensor.dispose();
      }
    },
  };
}

/**
 * Runs the graph synchronously, or asynchronously when it holds control flow or dynamic shapes
 * (TensorFlow.js refuses `execute` for those and warns when `executeAsync` was not needed).
 */
async function executeGraph(
  model: tf.GraphModel,
  input: tf.Tensor,
  names: string[],
): Promise<tf.Tensor | tf.Tensor[]> {
  try {
    return model.execute(input, names);
  } catch (err) {
    if (!/executeAsync/.test((err as Error).message)) throw err;
    return model.executeAsync(input, names);
  }
}

/** The node name behind input `index` of a node (`name:1` and control inputs `^name` trimmed). */
function inputName(node: GraphNode, index: number): string {
  const raw = node.input?.[index] ?? '';
  return raw.replace(/^\^/, '').replace(/:\d+$/, '');
}

function graphBatchNormParams(
  node: GraphNode,
  weights: tf.NamedTensorMap | Record<string, tf.Tensor[]>,
) {
  const read = (index: number): number[] | null => {
    const found = (weights as Record<string, tf.Tensor[] | tf.Tensor>)[inputName(node, index)];
    const tensor = Array.isArray(found) ? found[0] : found;
    return tensor ? Array.from(tensor.dataSync()) : null;
  };
  const [gamma, beta, movingMean, movingVariance] = [1, 2, 3, 4].map(read);
  if (!movingMean || !movingVariance) return undefined;
  const params: BatchNormParams = {
    axis: -1,
    epsilon: node.attr?.epsilon?.f ?? DEFAULT_GRAPH_EPSILON,
    gamma,
    beta,
    movingMean,
    movingVariance,
  };

  return params;
}

/** What the result must say about batch normalization that the graph no longer holds. */
function graphNotes(nodes: GraphNode[], targets: ProbeTarget[]): string[] {
  const notes: string[] = [];
  const batchNormNodes = nodes.filter((n) => BATCH_NORM_OPS.has(n.op));
  const unread = batchNormNodes.filter(
    (n) => !targets.some((t) => t.name === n.name && t.batchNorm),
  );
  if (unread.length > 0) {
    notes.push(
      `batch-normalization nodes whose statistics are not constants of the graph, so no drift ` +
        `is reported for them: ${unread.map((n) => n.name).join(', ')}`,
    );
  }
  const batchNormInputs = new Set(
    batchNormNodes.flatMap((n) => (n.input ?? []).map((_, i) => inputName(n, i))),
  );
  const traces = nodes.filter(
    (n) =>
      !BATCH_NORM_OPS.has(n.op) && !batchNormInputs.has(n.name) && BATCH_NORM_NAME.test(n.name),
  );
  if (traces.length > 0) {
    const shown = traces.slice(0, 10).map((n) => `${n.name} (${n.op})`);
    notes.push(
      'batch normalization was folded into other operations when this graph was exported ' +
        `(nodes named for it: ${shown.join(', ')}${traces.length > 10 ? ', ...' : ''}); ` +
        'its moving mean and variance are no longer in the graph, so no drift is reported for it',
    );
  }
  if (batchNormNodes.length === 0 && traces.length === 0) {
    notes.push(
      'the graph has no batch-normalization nodes; if the model was trained with batch ' +
        'normalization, the converter folded it into the convolutions and its statistics are gone',
    );
  }

  return notes;
}

/** Batch-normalization nodes of a GraphModel and their constants, for the no-job route. */
export function listGraphBatchNorm(
  model: tf.GraphModel,
  nodes: GraphNode[],
): { layers: { name: string; params: BatchNormParams }[]; notes: string[] } {
  const probe = buildGraphProbe(model, nodes, (name) =>
    nodes.some((n) => n.name === name && BATCH_NORM_OPS.has(n.op)),
  );
  return {
    layers: probe.targets
      .filter((t) => t.batchNorm)
      .map((t) => ({ name: t.name, params: t.batchNorm as BatchNormParams })),
    notes: probe.notes,
  };
}

/** The GraphDef nodes of a loaded GraphModel's model.json topology. */
export function graphNodes(modelTopology: unknown): GraphNode[] {
  const nodes = (modelTopology as { node?: unknown })?.node;
  return Array.isArray(nodes) ? (nodes as GraphNode[]) : [];
}
