// Stored datasets (background rows clients name instead of resending them), one JSON file each.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TENANT_PATTERN } from '../auth/principal.js';

/** A stored dataset: rows of numbers, with column names when the client gave them. */
export interface DatasetRecord {
  id: string;
  name: string;
  /** Column names; empty when the rows came as plain arrays without names. */
  featureNames: string[];
  rowCount: number;
  columnCount: number;
  createdAt: string;
  rows: number[][];
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads and writes datasets under `<storeDir>/datasets/<tenant>/<id>.json`. Every method takes
 * the tenant, so a dataset can only be reached through the tenant that stored it.
 */
export class DatasetStore {
  private readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, 'datasets');
  }

  /** Writes a dataset atomically; a reader never sees half a file. */
  async save(tenant: string, record: DatasetRecord): Promise<void> {
    await mkdir(this.tenantDir(tenant), { recursive: true });
    const target = this.file(tenant, record.id);
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, target);
  }

  /** The dataset, or null when the tenant has none with this id. */
  async get(tenant: string, id: string): Promise<DatasetRecord | null> {
    if (!ID_PATTERN.test(id) || !TENANT_PATTERN.test(tenant)) return null;
    try {
      return JSON.parse(await readFile(this.file(tenant, id), 'utf8')) as DatasetRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /**
   * The tenant's datasets without their rows, oldest first.
   * Limitation: each file is read whole to describe it, so listing costs as much as reading
   * every dataset; a tenant keeps few, and each holds at most MAX_BACKGROUND_ROWS rows.
   */
  async list(tenant: string): Promise<Omit<DatasetRecord, 'rows'>[]> {
    if (!TENANT_PATTERN.test(tenant)) return [];
    const names = await readdir(this.tenantDir(tenant)).catch(() => [] as string[]);
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
    const records = await Promise.all(ids.map((id) => this.get(tenant, id)));
    return records
      .filter((r): r is DatasetRecord => r !== null)
      .map(({ rows: _rows, ...summary }) => summary)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Removes a dataset; false when the tenant had none with this id. */
  async delete(tenant: string, id: string): Promise<boolean> {
    if (!ID_PATTERN.test(id) || !TENANT_PATTERN.test(tenant)) return false;
    try {
      await rm(this.file(tenant, id));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  private tenantDir(tenant: string): string {
    if (!TENANT_PATTERN.test(tenant)) throw new Error(`invalid tenant ${JSON.stringify(tenant)}`);
    return path.join(this.dir, tenant);
  }

  private file(tenant: string, id: string): string {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid dataset id ${JSON.stringify(id)}`);
    return path.join(this.tenantDir(tenant), `${id}.json`);
  }
}
