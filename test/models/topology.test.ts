import { describe, expect, it } from 'vitest';
import { checkArtifacts } from '../../src/models/artifacts.js';
import { checkModelIsolated } from '../../src/models/isolated-load.js';
import { checkLayersTopology } from '../../src/models/topology.js';
import { danglingLinkModel, functionalModel } from '../helpers/hostile-models.js';

describe('checkLayersTopology', () => {
  it('passes a well-formed functional model', () => {
    const report = checkLayersTopology(functionalModel().modelJson.modelTopology);
    expect(report).toEqual({ invalid: [], unsupported: [] });
  });

  it('names a link to a layer that does not exist', () => {
    const report = checkLayersTopology(danglingLinkModel().modelJson.modelTopology);
    expect(report.invalid.map((p) => p.message)).toEqual([
      'layer out takes input from layer "ghost", which does not exist',
    ]);
  });

  it('names a link to a node index the layer does not have', () => {
    const { modelJson } = functionalModel();
    modelJson.modelTopology.config.layers[2].inbound_nodes = [[['hidden', 3, 0, {}]]];
    const report = checkLayersTopology(modelJson.modelTopology);
    expect(report.invalid[0].message).toBe(
      'layer out takes input from node 3 of layer hidden, which has 1 node(s)',
    );
  });

  it('finds a cycle between layer calls', () => {
    const { modelJson } = functionalModel();
    modelJson.modelTopology.config.layers[1].inbound_nodes = [[['out', 0, 0, {}]]];
    const report = checkLayersTopology(modelJson.modelTopology);
    expect(report.invalid[0].message).toMatch(/depends on its own output \(a cycle\)/);
  });

  it('names Lambda and custom layers with their class', () => {
    const { modelJson } = functionalModel();
    modelJson.modelTopology.config.layers[1].class_name = 'Lambda';
    modelJson.modelTopology.config.layers[2].class_name = 'MyAttention';
    const report = checkLayersTopology(modelJson.modelTopology);
    expect(report.unsupported.map((p) => p.message)).toEqual([
      'layer "hidden" has class "Lambda", which TensorFlow.js cannot run ' +
        '(Lambda layers hold Python code)',
      'layer "out" has class "MyAttention", which TensorFlow.js cannot run',
    ]);
  });
});

describe('checkModelIsolated', () => {
  it(
    'contains a model that hangs the tfjs loader: the caller keeps running and gets a timeout',
    async () => {
      // Built without the topology check, as if it had slipped past it; tfjs would loop forever.
      const hostile = danglingLinkModel();
      const artifacts = checkArtifactsUnchecked(hostile.modelJson, hostile.weights);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 50);
      try {
        await expect(
          checkModelIsolated(artifacts, { backend: 'cpu', timeoutMs: 3000 }),
        ).rejects.toMatchObject({
          code: 'GBX_ERR_UPLOAD_TIMEOUT',
        });
      } finally {
        clearInterval(ticker);
      }
      // The main thread's timers kept firing while the thread spun.
      expect(ticks).toBeGreaterThan(5);
    },
  );

  it('loads a good model and reports its structure', async () => {
    const good = functionalModel();
    const artifacts = checkArtifacts(JSON.stringify(good.modelJson), good.weights);
    const structure = await checkModelIsolated(artifacts, { backend: 'cpu', timeoutMs: 60_000 });
    expect(structure.featureCount).toBe(3);
    expect(structure.outputCount).toBe(1);
    expect(structure.layers.map((l) => l.className)).toEqual(['InputLayer', 'Dense', 'Dense']);
  });
});

/** checkArtifacts on a topology with a valid link, then the hostile topology swapped back in. */
function checkArtifactsUnchecked(modelJson: Record<string, any>, weights: Map<string, Buffer>) {
  const safe = structuredClone(modelJson);
  safe.modelTopology.config.layers[2].inbound_nodes = [[['hidden', 0, 0, {}]]];
  const artifacts = checkArtifacts(JSON.stringify(safe), weights);
  return {
    ...artifacts,
    modelJson: { ...artifacts.modelJson, modelTopology: modelJson.modelTopology },
  };
}
