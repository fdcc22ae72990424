// A model store in a temporary folder holding fixture models, for tests below the HTTP layer.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelStore } from '../../src/models/store.js';
import type { ServiceContext } from '../../src/services/context.js';
import { createModel } from '../../src/services/models.js';
import { fixtureData, fixtureModelDir, modelFiles } from './fixtures.js';

export interface FixtureStore {
  dir: string;
  store: ModelStore;
  /** Model id by fixture name. */
  ids: Record<string, string>;
  remove(): Promise<void>;
}

/** Stores each named fixture model through the same checks an upload goes through. */
export async function storeFixtureModels(names: string[]): Promise<FixtureStore> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gbx-models-'));
  const store = new ModelStore(dir);
  await store.init();
  const ids: Record<string, string> = {};
  for (const name of names) {
    const files = modelFiles(fixtureModelDir(name));
    const data = fixtureData(name);
    const record = await createModel({ models: store } as ServiceContext, {
      modelJsonText: files.modelJson,
      files: files.weights,
      metadataText: JSON.stringify({
        featureNames: data.featureNames,
        outputNames: data.outputNames,
      }),
    });
    ids[name] = record.id;
  }
  return { dir, store, ids, remove: () => rm(dir, { recursive: true, force: true }) };
}
