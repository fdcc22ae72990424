// The model store: one folder per model on disk, shared by the API and the workers.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
  layers: LayerDescription[];
  featureCount: number | null;
  outputCount: number | null;
  createdAt: string;
}

const RECORD_FILE = 'record.json';
const MODEL_FILE = 'model.json';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Reads and writes models under `<storeDir>/models/<id>/`. */
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
  async save(record: ModelRecord, modelJsonText: string, files: Map<string, Buffer>): Promise<void> {
    const staging = path.join(this.stagingDir, `${record.id}-${randomUUID()}`);
    await mkdir(staging, { recursive: true });
    try {
      await writeFile(path.join(staging, MODEL_FILE), modelJsonText);
      await mkdir(path.join(staging, 'weights'));
      for (const [name, data] of files) await writeFile(path.join(staging, 'weights', name), data);
      await writeFile(path.join(staging, RECORD_FILE), JSON.stringify(record));
      await rename(staging, this.folder(record.id));
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  /** The record of a model, or null when there is none under that id. */
  async get(id: string): Promise<ModelRecord | null> {
    if (!ID_PATTERN.test(id)) return null;
    try {
      return JSON.parse(await readFile(path.join(this.folder(id), RECORD_FILE), 'utf8')) as ModelRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Every stored model, oldest first. */
  async list(): Promise<ModelRecord[]> {
    const ids = await readdir(this.modelsDir).catch(() => [] as string[]);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records
      .filter((r): r is ModelRecord => r !== null)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Removes a model; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!(await this.get(id))) return false;
    const doomed = path.join(this.stagingDir, `deleted-${id}-${randomUUID()}`);
    await rename(this.folder(id), doomed);
    await rm(doomed, { recursive: true, force: true });
    return true;
  }

  /** The stored model.json and weights, checked again as on upload. */
  async readArtifacts(id: string): Promise<ModelArtifacts> {
    const folder = this.folder(id);
    const text = await readFile(path.join(folder, MODEL_FILE), 'utf8');
    const names = await readdir(path.join(folder, 'weights')).catch(() => [] as string[]);
    const files = new Map<string, Buffer>();
    for (const name of names) files.set(name, await readFile(path.join(folder, 'weights', name)));
    return checkArtifacts(text, files);
  }

  /** The stored model.json alone, without reading the weights. */
  async readModelJson(id: string): Promise<ModelJson> {
    return JSON.parse(await readFile(path.join(this.folder(id), MODEL_FILE), 'utf8')) as ModelJson;
  }

  private folder(id: string): string {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid model id ${JSON.stringify(id)}`);
    return path.join(this.modelsDir, id);
  }
}
