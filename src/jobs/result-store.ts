// Job results on disk: written once, atomically, by the worker; read by the API.
import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export class ResultStore {
  private readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, 'results');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Stores a job's result; a second write for the same job replaces the first whole. */
  async write(jobId: string, result: unknown): Promise<void> {
    const target = this.file(jobId);
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(result));
    await rename(temporary, target);
  }

  /** The stored result, or null when there is none. */
  async read(jobId: string): Promise<unknown | null> {
    try {
      return JSON.parse(await readFile(this.file(jobId), 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Whether a result is stored for the job. */
  async exists(jobId: string): Promise<boolean> {
    try {
      await access(this.file(jobId));
      return true;
    } catch {
      return false;
    }
  }

  /** Ids of the jobs with a stored result. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length))
      .filter((id) => ID_PATTERN.test(id));
  }

  /**
   * Removes temporary files older than `ageMs`: a worker killed between writing a result and
   * moving it into place leaves one behind (the job itself is completed by another worker).
   * @returns how many were removed.
   */
  async removeStaleTemporaries(ageMs: number): Promise<number> {
    const cutoff = Date.now() - ageMs;
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.tmp')) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs < cutoff) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.file(jobId), { force: true });
  }

  private file(jobId: string): string {
    if (!ID_PATTERN.test(jobId)) throw new Error(`invalid job id ${JSON.stringify(jobId)}`);
    return path.join(this.dir, `${jobId}.json`);
  }
}
