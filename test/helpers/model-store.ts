// A model store in a temporary folder holding fixture models, for tests below the HTTP layer.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPEN_PRINCIPAL } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config/index.js';
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

/** Stores each named fixture model, as tenant `default`, through the checks of an upload. */
export async function storeFixtureModels(names: string[]): Promise<FixtureStore> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gbx-models-'));
  const store = new ModelStore(dir);
  await store.init();
  const ids: Record<string, string> = {};
  const ctx = {
    models: store,
    config: loadConfig({ STORE_DIR: dir, TFJS_BACKEND: 'wasm' }),
  } as ServiceContext;
  for (const name of names) {
    const files = modelFiles(fixtureModelDir(name));
    const data = fixtureData(name);
    const record = await createModel(ctx, OPEN_PRINCIPAL, {
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
