// Checks a LayersModel topology before TensorFlow.js sees it: known layer classes, links that
// name layers and nodes that exist, and no cycles. The tfjs loader trusts these links; one that
// points nowhere leaves it looping forever on the main thread.
import * as tf from '@tensorflow/tfjs';
import type { FieldProblem } from '../errors.js';

/** A layer in a Keras-style topology, as far as the checks need it. */
interface LayerConfig {
  name?: unknown;
  class_name?: unknown;
  config?: Record<string, unknown>;
  inbound_nodes?: unknown;
}

/** A link from one layer call to an earlier one: layer name, node index, tensor index. */
interface NodeLink {
  layer: string;
  node: number;
}

/** Classes that hold other layers and are known to TensorFlow.js under these names. */
const CONTAINER_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

/** Problems found in a topology; `unsupported` are layers tfjs has no class for. */
export interface TopologyReport {
  invalid: FieldProblem[];
  unsupported: FieldProblem[];
}

/**
 * Checks a LayersModel `modelTopology` without building it.
 * @returns every problem found; both lists empty when the topology is safe to load.
 */
export function checkLayersTopology(modelTopology: Record<string, unknown>): TopologyReport {
  const report: TopologyReport = { invalid: [], unsupported: [] };
  const root = (modelTopology.model_config ?? modelTopology) as LayerConfig;
  checkLayer(root, 'model.modelTopology', report);
  return report;
}

function knownClasses(): Record<string, unknown> {
  return tf.serialization.SerializationMap.getMap().classNameMap;
}

function checkLayer(layer: LayerConfig, at: string, report: TopologyReport): void {
  if (typeof layer !== 'object' || layer === null || typeof layer.class_name !== 'string') {
    report.invalid.push({ path: at, message: 'a layer must be an object with a class_name' });
    return;
  }
  const className = layer.class_name;
  const name = layerName(layer);
  if (!(className in knownClasses())) {
    report.unsupported.push({
      path: at,
      message:
        `layer ${JSON.stringify(name ?? '(unnamed)')} has class ${JSON.stringify(className)}, ` +
        'which TensorFlow.js cannot run' +
        (className === 'Lambda' ? ' (Lambda layers hold Python code)' : ''),
    });
    return;
  }
  const config = layer.config ?? {};
  if (CONTAINER_CLASSES.has(className)) checkContainer(className, config, at, report);
  // Wrappers (TimeDistributed, Bidirectional) hold their inner layer under `layer`.
  const inner = config.layer as LayerConfig | undefined;
  if (inner && typeof inner === 'object') checkLayer(inner, `${at}.config.layer`, report);
}

function layerName(layer: LayerConfig): string | undefined {
  if (typeof layer.name === 'string') return layer.name;
  const configName = layer.config?.name;
  return typeof configName === 'string' ? configName : undefined;
}

function checkContainer(
  className: string,
  config: Record<string, unknown>,
  at: string,
  report: TopologyReport,
): void {
  // A Sequential topology may list its layers directly or under `layers`.
  const layers = Array.isArray(config) ? config : config.layers;
  if (!Array.isArray(layers)) {
    report.invalid.push({ path: `${at}.config.layers`, message: 'must be a list of layers' });
    return;
  }
  layers.forEach((layer, i) =>
    checkLayer(layer as LayerConfig, `${at}.config.layers.${i}`, report),
  );
  if (className !== 'Sequential') checkGraph(layers as LayerConfig[], config, at, report);
}

/** Functional models: unique names, links to existing layer calls, no cycles. */
function checkGraph(
  layers: LayerConfig[],
  config: Record<string, unknown>,
  at: string,
  report: TopologyReport,
): void {
  const nodeCounts = new Map<string, number>();
  const calls = new Map<string, NodeLink[][]>();
  for (const [i, layer] of layers.entries()) {
    const name = layerName(layer);
    if (name === undefined) {
      report.invalid.push({ path: `${at}.config.layers.${i}`, message: 'layer has no name' });
      continue;
    }
    if (nodeCounts.has(name)) {
      report.invalid.push({
        path: `${at}.config.layers.${i}`,
        message: `layer name ${name} is used twice`,
      });
    }
    const nodes = parseInboundNodes(layer.inbound_nodes, `${at}.config.layers.${i}`, report);
    // A layer never called (an InputLayer) still has the one node that creates its output.
    nodeCounts.set(name, Math.max(1, nodes.length));
    calls.set(name, nodes);
  }
  const linkExists = (link: NodeLink) => link.node < (nodeCounts.get(link.layer) ?? 0);
  for (const [name, nodes] of calls) {
    for (const link of nodes.flat()) {
      if (!linkExists(link)) {
        report.invalid.push({
          path: `${at}.config.layers`,
          message: `layer ${name} takes input from ${describeLink(link, nodeCounts)}`,
        });
      }
    }
  }
  for (const key of ['input_layers', 'output_layers'] as const) {
    for (const link of parseLinks(config[key], `${at}.config.${key}`, report)) {
      if (!linkExists(link)) {
        report.invalid.push({
          path: `${at}.config.${key}`,
          message: `names ${describeLink(link, nodeCounts)}`,
        });
      }
    }
  }
  if (report.invalid.length === 0) findCycle(calls, at, report);
}

function describeLink(link: NodeLink, nodeCounts: Map<string, number>): string {
  const count = nodeCounts.get(link.layer);
  if (count === undefined) return `layer ${JSON.stringify(link.layer)}, which does not exist`;
  return `node ${link.node} of layer ${link.layer}, which has ${count} node(s)`;
}

/** `inbound_nodes`: one entry per call of the layer, each a list of links to earlier calls. */
function parseInboundNodes(value: unknown, at: string, report: TopologyReport): NodeLink[][] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    report.invalid.push({ path: `${at}.inbound_nodes`, message: 'must be a list' });
    return [];
  }
  return value.map((node, n) => parseLinks(node, `${at}.inbound_nodes.${n}`, report));
}

/**
 * Links in either layout TensorFlow.js reads: `[name, node, tensor, kwargs]` tuples, or Keras 3
 * call records whose tensors carry `keras_history: [name, node, tensor]`.
 */
function parseLinks(value: unknown, at: string, report: TopologyReport): NodeLink[] {
  const links: NodeLink[] = [];
  const visit = (item: unknown): void => {
    if (isLinkTuple(item)) {
      links.push({ layer: item[0], node: item[1] });
    } else if (Array.isArray(item)) {
      item.forEach(visit);
    } else if (typeof item === 'object' && item !== null) {
      const history = (item as { config?: { keras_history?: unknown } }).config?.keras_history;
      if (isLinkTuple(history)) links.push({ layer: history[0], node: history[1] });
      else Object.values(item).forEach(visit);
    }
  };
  if (value !== undefined && !Array.isArray(value) && typeof value !== 'object') {
    report.invalid.push({ path: at, message: 'must be a list of [layer, node, tensor] links' });
    return links;
  }
  visit(value);
  return links;
}

function isLinkTuple(item: unknown): item is [string, number, ...unknown[]] {
  return (
    Array.isArray(item) &&
    item.length >= 2 &&
    typeof item[0] === 'string' &&
    Number.isInteger(item[1]) &&
    (item[1] as number) >= 0
  );
}

/** Depth-first search over layer calls; a call that feeds itself, directly or not, is a cycle. */
function findCycle(calls: Map<string, NodeLink[][]>, at: string, report: TopologyReport): void {
  const state = new Map<string, 'open' | 'done'>();
  const key = (link: NodeLink) => `${link.layer}#${link.node}`;
  const inputsOf = (link: NodeLink) => calls.get(link.layer)?.[link.node] ?? [];
  for (const [name, nodes] of calls) {
    for (let n = 0; n < Math.max(1, nodes.length); n++) {
      const start = { layer: name, node: n };
      if (state.has(key(start))) continue;
      const stack: { link: NodeLink; next: number }[] = [{ link: start, next: 0 }];
      state.set(key(start), 'open');
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const inputs = inputsOf(top.link);
        if (top.next >= inputs.length) {
          state.set(key(top.link), 'done');
          stack.pop();
          continue;
        }
        const input = inputs[top.next++];
        const seen = state.get(key(input));
        if (seen === 'open') {
          report.invalid.push({
            path: `${at}.config.layers`,
            message: `layer ${input.layer} depends on its own output (a cycle)`,
          });
          return;
        }
        if (seen === undefined) {
          state.set(key(input), 'open');
          stack.push({ link: input, next: 0 });
        }
      }
    }
  }
}
