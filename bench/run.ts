// `npm run bench`: every benchmark section in one run on this machine, figures printed as they
// come. `npm run bench -- methods kernel` runs only the sections named.
import os from 'node:os';
import { selectBackend } from '../src/tf/backend.js';
import { printFigures, write, type Figure } from './common.js';
import { benchApiLoad } from './api-load.js';
import { benchEndToEnd } from './e2e.js';
import { benchEventLoop } from './event-loop.js';
import { benchKernelShap } from './kernel-shap.js';
import { benchMemory } from './memory.js';
import { benchMethods, formatFigures } from './methods.js';
import { benchScaling } from './scaling.js';

const FIGURE_SECTIONS: [name: string, title: string, measure: () => Promise<Figure[]>][] = [
  [
    'kernel',
    'KernelSHAP against plain prediction (breast-cancer, 100 background rows, nsamples auto)',
    benchKernelShap,
  ],
  ['loop', 'Event-loop delay in the worker during a heavy job', benchEventLoop],
  ['e2e', 'End to end against in-process compute', benchEndToEnd],
  ['scaling', 'One split request on 1 and 2 worker processes', benchScaling],
  ['api', 'API under load (autocannon) against bare Fastify', benchApiLoad],
  ['memory', 'Memory over three rounds of 500 jobs', benchMemory],
];
const SECTION_NAMES = [...FIGURE_SECTIONS.map(([name]) => name), 'methods'];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SECTION_NAMES.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown section ${unknown.join(', ')}; sections: ${SECTION_NAMES.join(', ')}`);
  }
  const runs = (name: string) => wanted.length === 0 || wanted.includes(name);
  const backend = await selectBackend('auto');
  const cpus = os.cpus();
  write(`# Glassbox bench, ${new Date().toISOString()}`);
  write(
    `machine: ${cpus.length} × ${cpus[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, TensorFlow.js backend ${backend.backend}`,
  );
  for (const [name, title, measure] of FIGURE_SECTIONS) {
    if (runs(name)) printFigures(title, await measure());
  }
  if (runs('methods')) {
    write('\n## Explanation methods against plain prediction\n');
    write(formatFigures(await benchMethods()));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
