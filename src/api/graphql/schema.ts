// Loads the GraphQL SDL from the schema/ folder at the root of the package.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** schema/ beside src/ and dist/: both sit one level under the package root. */
export const SCHEMA_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../schema',
);

/** Every `*.graphql` file of the folder, in name order, joined into one SDL document. */
export async function loadSchemaText(dir = SCHEMA_DIR): Promise<string> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.graphql')).sort();
  if (files.length === 0) throw new Error(`no .graphql files in ${dir}`);
  const parts = await Promise.all(files.map((name) => readFile(path.join(dir, name), 'utf8')));

  return parts.join('\n');
}
