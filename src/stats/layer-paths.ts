// Layer paths a model offers for statistics, read from model.json without loading the model.
import type { ModelFormat } from '../models/artifacts.js';
import { SKIPPED_OPS } from './graph-probe.js';
import type { LayerSelection } from './layers-probe.js';

interface LayerConfig {
  class_name?: string;
  config?: { name?: string; layers?: LayerConfig[] } | LayerConfig[];
}

const NESTED_MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

/**
 * Every layer path of a LayersModel (`outer/inner` inside nested models) or every node name of a
 * GraphModel, as the statistics job names them.
 * @param format - the stored model's format.
 * @param modelTopology - `modelTopology` of model.json.
 */
export function layerPaths(format: ModelFormat, modelTopology: unknown): string[] {
  const topology = modelTopology as {
    node?: { name: string; op: string }[];
    model_config?: LayerConfig;
  };
  if (format === 'graph-model') {
    return (topology.node ?? []).filter((n) => !SKIPPED_OPS.has(n.op)).map((n) => n.name);
  }
  const paths: string[] = [];
  const walk = (layers: LayerConfig[], prefix: string) => {
    for (const layer of layers) {
      const name = Array.isArray(layer.config) ? undefined : layer.config?.name;
      if (!name) continue;
      paths.push(prefix + name);
      const inner = nestedLayers(layer);
      if (inner) walk(inner, `${prefix}${name}/`);
    }
  };
  walk(nestedLayers(topology.model_config ?? (topology as LayerConfig)) ?? [], '');

  return paths;
}

/** The layers of a (possibly nested) model config; a Sequential may list them directly. */
function nestedLayers(layer: LayerConfig): LayerConfig[] | null {
  if (!layer.class_name || !NESTED_MODEL_CLASSES.has(layer.class_name)) return null;
  if (Array.isArray(layer.config)) return layer.config;
  return layer.config?.layers ?? null;
}

/**
 * The path a layer name refers to: a shared layer's call (`name:1`) or one output of a
 * multi-output layer (`name[0]`) belongs to the layer `name`.
 */
export function basePath(name: string): string {
  return name.replace(/(:\d+)?(\[\d+\])?$/, '');
}

/** A selection of the named paths, or of everything when `names` is null. */
export function selectLayers(names: string[] | null): LayerSelection {
  if (names === null) return { wants: () => true, wantsInside: () => true };
  const wanted = new Set(names.map(basePath));
  return {
    wants: (path) => wanted.has(basePath(path)),
    wantsInside: (path) => [...wanted].some((w) => w.startsWith(`${path}/`)),
  };
}
