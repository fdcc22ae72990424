// Benchmarks, run by `npm run bench`; each section lives in its own file.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/tf/backend.js';
import { benchMethods, formatFigures } from './methods.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = process.env.GLASSBOX_SHARED_DIR ?? path.resolve(here, '../../shared');

const selection = await selectBackend('wasm');
process.stdout.write(`backend: ${selection.backend}\n\n## Explanation methods\n\n`);
process.stdout.write(`${formatFigures(await benchMethods(path.join(sharedDir, 'fixtures')))}\n`);
