// `npm run bench`: every benchmark section in one run on this machine, figures printed as they come.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/tf/backend.js';
import { printFigures, write, type Figure } from './common.js';
import { benchApiLoad } from './api-load.js';
import { benchEndToEnd } from './e2e.js';
import { benchEventLoop } from './event-loop.js';
import { benchKernelShap } from './kernel-shap.js';
import { benchMemory } from './memory.js';
import { benchMethods, formatFigures } from './methods.js';
import { benchScaling } from './scaling.js';

const SHARED_DIR =
  process.env.GLASSBOX_SHARED_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared');

const sections: [string, () => Promise<Figure[]>][] = [
  [
    'KernelSHAP against plain prediction (breast-cancer, 100 background rows, nsamples auto)',
    benchKernelShap,
  ],
  ['Event-loop delay in the worker during a heavy job', benchEventLoop],
  ['End to end against in-process compute', benchEndToEnd],
  ['One split request on 1 and 2 worker processes', benchScaling],
  ['API under load (autocannon) against bare Fastify', benchApiLoad],
  ['Memory over 500 jobs', benchMemory],
];

async function main(): Promise<void> {
  const backend = await selectBackend('auto');
  write(`# Glassbox bench, ${new Date().toISOString()}`);
  write(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, TensorFlow.js backend ${backend.backend}`,
  );
  for (const [title, run] of sections) printFigures(title, await run());
  write('\n## Explanation methods against plain prediction\n');
  write(formatFigures(await benchMethods(path.join(SHARED_DIR, 'fixtures'))));
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
