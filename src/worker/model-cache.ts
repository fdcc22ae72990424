// Loaded models kept in memory between jobs, least recently used dropped first.
import type { ModelStore, ModelRecord } from '../models/store.js';
import { disposeModel, loadModel, type LoadedModel } from '../models/tf-model.js';

export interface CachedModel {
  record: ModelRecord;
  model: LoadedModel;
}

export class ModelCache {
  private readonly entries = new Map<string, Promise<CachedModel>>();

  constructor(
    private readonly store: ModelStore,
    private readonly capacity = 8,
  ) {}

  /** The loaded model of a tenant; null when the store has no such model. */
  async get(tenant: string, id: string): Promise<CachedModel | null> {
    const key = `${tenant}/${id}`;
    // The store is the truth: a model deleted since it was loaded is not used again.
    const record = await this.store.get(tenant, id);
    const existing = this.entries.get(key);
    if (!record) {
      if (existing) await this.drop(key, existing);
      return null;
    }
    if (existing) {
      this.entries.delete(key);
      this.entries.set(key, existing);
      return existing;
    }
    const loading = this.store.readArtifacts(tenant, id).then(async (artifacts) => ({
      record,
      model: await loadModel(artifacts),
    }));
    this.entries.set(key, loading);
    loading.catch(() => this.entries.delete(key));
    await this.evict();
    return loading;
  }

  /** Drops every model, releasing its tensors. */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const entry of await Promise.allSettled(all)) {
      if (entry.status === 'fulfilled') disposeModel(entry.value.model);
    }
  }

  private async drop(key: string, entry: Promise<CachedModel>): Promise<void> {
    this.entries.delete(key);
    const loaded = await entry.catch(() => null);
    if (loaded) disposeModel(loaded.model);
  }

  private async evict(): Promise<void> {
    while (this.entries.size > this.capacity) {
      const [oldestId, oldest] = this.entries.entries().next().value as [string, Promise<CachedModel>];
      this.entries.delete(oldestId);
      const entry = await oldest.catch(() => null);
      if (entry) disposeModel(entry.model);
    }
  }
}
