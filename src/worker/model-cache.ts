// Loaded models kept in memory between jobs, bounded by the bytes of their weights; the least
// recently used model is dropped first.
import type { ModelArtifacts } from '../models/artifacts.js';
import type { ModelRecord } from '../models/store.js';
import { disposeModel, loadModel, type LoadedModel } from '../models/tf-model.js';

export interface CachedModel {
  record: ModelRecord;
  model: LoadedModel;
}

/** What the cache reads models from: the model store, or anything shaped like it. */
export interface ModelSource {
  get(tenant: string, id: string): Promise<ModelRecord | null>;
  readArtifacts(tenant: string, id: string): Promise<ModelArtifacts>;
}

interface Entry {
  loading: Promise<CachedModel>;
  bytes: number;
}

/** Bytes per value once loaded: quantized weights are expanded to float32. */
const LOADED_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  string: 0,
};

/** Bytes a model's weights take once loaded into TensorFlow.js. */
export function loadedWeightBytes(artifacts: ModelArtifacts): number {
  let bytes = 0;
  for (const spec of artifacts.weightSpecs) {
    const values = spec.shape.reduce((a, b) => a * b, 1);
    bytes += values * (LOADED_BYTES[spec.dtype] ?? 4);
  }
  return bytes;
}

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  /**
   * @param source - where models are read from.
   * @param maxBytes - weight bytes kept loaded. Note: a model larger than this on its own is
   *   still loaded for the job that needs it, then dropped when the next model arrives.
   * @defaultValue maxBytes 512 MiB
   */
  constructor(
    private readonly source: ModelSource,
    private readonly maxBytes = 512 * 1024 * 1024,
  ) {}

  /** Weight bytes of the models now cached. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** `tenant/id` of the cached models, least recently used first. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The loaded model of a tenant; null when the store has no such model. */
  async get(tenant: string, id: string): Promise<CachedModel | null> {
    const key = `${tenant}/${id}`;
    // The store is the truth: a model deleted since it was loaded is not used again.
    const record = await this.source.get(tenant, id);
    const existing = this.entries.get(key);
    if (!record) {
      if (existing) await this.drop(key, existing);
      return null;
    }
    if (existing) {
      this.entries.delete(key);
      this.entries.set(key, existing);
      return existing.loading;
    }
    const artifacts = await this.source.readArtifacts(tenant, id);
    const again = this.entries.get(key);
    if (again) return again.loading;

    const entry: Entry = {
      loading: loadModel(artifacts).then((model) => ({ record, model })),
      bytes: loadedWeightBytes(artifacts),
    };
    this.entries.set(key, entry);
    this.totalBytes += entry.bytes;
    entry.loading.catch(() => this.forget(key, entry));
    await this.evict(key);
    return entry.loading;
  }

  /** Drops every model, releasing its tensors. */
  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.totalBytes = 0;
    for (const entry of await Promise.allSettled(all.map((e) => e.loading))) {
      if (entry.status === 'fulfilled') disposeModel(entry.value.model);
    }
  }

  private async drop(key: string, entry: Entry): Promise<void> {
    this.forget(key, entry);
    const loaded = await entry.loading.catch(() => null);
    if (loaded) disposeModel(loaded.model);
  }

  private forget(key: string, entry: Entry): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  /** Drops least recently used models, never `keep`, until the weights fit the budget. */
  private async evict(keep: string): Promise<void> {
    for (const [key, entry] of [...this.entries]) {
      if (this.totalBytes <= this.maxBytes) return;
      if (key === keep) continue;
      this.forget(key, entry);
      // Limitation: disposal does not wait for a job still using the model, because a compute
      // thread runs one job at a time and so never evicts a model in use; in the main thread
      // (COMPUTE_THREADS=off) with WORKER_CONCURRENCY above 1 it could.
      const loaded = await entry.loading.catch(() => null);
      if (loaded) disposeModel(loaded.model);
    }
  }
}
