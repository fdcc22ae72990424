// Stored datasets (background rows clients name instead of resending them), one JSON file each.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

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

export class DatasetStore {
  private readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, 'datasets');
  }

  /** Writes a dataset atomically; a reader never sees half a file. */
  async save(record: DatasetRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.file(record.id);
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, target);
  }

  /** The dataset, or null when there is none with this id. */
  async get(id: string): Promise<DatasetRecord | null> {
    if (!ID_PATTERN.test(id)) return null;
    try {
      return JSON.parse(await readFile(this.file(id), 'utf8')) as DatasetRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}
