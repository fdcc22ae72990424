// The model store: one folder per model on disk, shared by the API and the workers.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TENANT_PATTERN } from '../auth/principal.js';
import {
  checkArtifacts,
  type ModelArtifacts,
  type ModelFormat,
  type ModelJson,
} from './artifacts.js';
import type { LayerDescription, TensorDescription } from './tf-model.js';

export type ModelTask = 'classification' | 'regression';

/** What the service knows about a stored model. */
export interface ModelRecord {
  id: string;
  name: string;
  format: ModelFormat;
  task: ModelTask | null;
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  featureNames: string[];
  outputNames: string[];
  /** Features LIME treats as categorical unless a request names its own, ascending indices. */
  categoricalFeatures: number[];
  layers: LayerDescription[];
  featureCount: number | null;
  outputCount: number | null;
  createdAt: string;
}

const RECORD_FILE = 'record.json';
const MODEL_FILE = 'model.json';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads and writes models under `<storeDir>/models/<tenant>/<id>/`. Every method takes the
 * tenant, so a model can only be reached through the tenant that stored it.
 */
export class ModelStore {
  private readonly modelsDir: string;
  private readonly stagingDir: string;

  constructor(storeDir: string) {
    this.modelsDir = path.join(storeDir, 'models');
    this.stagingDir = path.join(storeDir, 'staging');
  }

  /** Creates the store folders; fails when the store is not writable. */
  async init(): Promise<void> {
    await mkdir(this.modelsDir, { recursive: true });
    await mkdir(this.stagingDir, { recursive: true });
  }

  /**
   * Writes a model into a staging folder and moves it into place only once complete, so that a
   * reader never sees half a model.
   */
  async save(
    tenant: string,
    record: ModelRecord,
    modelJsonText: string,
    files: Map<string, Buffer>,
  ): Promise<void> {
    const staging = path.join(this.stagingDir, `${record.id}-${randomUUID()}`);
    await mkdir(staging, { recursive: true });
    try {
      await writeFile(path.join(staging, MODEL_FILE), modelJsonText);
      await mkdir(path.join(staging, 'weights'));
      for (const [name, data] of files) await writeFile(path.join(staging, 'weights', name), data);
      await writeFile(path.join(staging, RECORD_FILE), JSON.stringify(record));
      await mkdir(this.tenantDir(tenant), { recursive: true });
      await rename(staging, this.folder(tenant, record.id));
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /** The record of a model, or null when there is none under that id. */
  async get(tenant: string, id: string): Promise<ModelRecord | null> {
    if (!ID_PATTERN.test(id) || !TENANT_PATTERN.test(tenant)) return null;
    try {
      const text = await readFile(path.join(this.folder(tenant, id), RECORD_FILE), 'utf8');
      return fromStoredJson(text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Every model of a tenant, oldest first. */
  async list(tenant: string): Promise<ModelRecord[]> {
    if (!TENANT_PATTERN.test(tenant)) return [];
    const ids = await readdir(this.tenantDir(tenant)).catch(() => [] as string[]);
    const records = await Promise.all(ids.map((id) => this.get(tenant, id)));
    return records
      .filter((r): r is ModelRecord => r !== null)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Removes a model; false when there was none. */
  async delete(tenant: string, id: string): Promise<boolean> {
    if (!(await this.get(tenant, id))) return false;
    const doomed = path.join(this.stagingDir, `deleted-${id}-${randomUUID()}`);
    await rename(this.folder(tenant, id), doomed);
    await rm(doomed, { recursive: true, force: true });
    return true;
  }

  /** The stored model.json and weights, checked again as on upload. */
  async readArtifacts(tenant: string, id: string): Promise<ModelArtifacts> {
    const folder = this.folder(tenant, id);
    const text = await readFile(path.join(folder, MODEL_FILE), 'utf8');
    const names = await readdir(path.join(folder, 'weights')).catch(() => [] as string[]);
    const files = new Map<string, Buffer>();
    for (const name of names) files.set(name, await readFile(path.join(folder, 'weights', name)));
    return checkArtifacts(text, files);
  }

  /** The stored model.json alone, without reading the weights. */
  async readModelJson(tenant: string, id: string): Promise<ModelJson> {
    const text = await readFile(path.join(this.folder(tenant, id), MODEL_FILE), 'utf8');
    return JSON.parse(text) as ModelJson;
  }

  private tenantDir(tenant: string): string {
    if (!TENANT_PATTERN.test(tenant)) throw new Error(`invalid tenant ${JSON.stringify(tenant)}`);
    return path.join(this.modelsDir, tenant);
  }

  private folder(tenant: string, id: string): string {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid model id ${JSON.stringify(id)}`);
    return path.join(this.tenantDir(tenant), id);
  }
}

/** A stored record; records written before a field existed get that field's default. */
function fromStoredJson(text: string): ModelRecord {
  const stored = JSON.parse(text) as Omit<ModelRecord, 'categoricalFeatures'> &
    Partial<Pick<ModelRecord, 'categoricalFeatures'>>;
  return { ...stored, categoricalFeatures: stored.categoricalFeatures ?? [] };
}
