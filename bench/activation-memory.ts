// Tensor count and process memory over consecutive activation-statistics runs.
// Run: node --import tsx bench/activation-memory.ts [runs] [fixture-folder]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildLayersProbe } from '../src/stats/layers-probe.js';
import { selectBackend } from '../src/tf/backend.js';
import { loadFixtureModel, runStats } from '../test/helpers/stats.js';

const runs = Number(process.argv[2] ?? 200);
const shared = process.env.GLASSBOX_SHARED_DIR ?? path.resolve('..', 'shared');
const fixture = process.argv[3] ?? path.join(shared, 'fixtures', 'wine-bn');

async function main(): Promise<void> {
  await selectBackend('wasm');
  const model = await loadFixtureModel(path.join(fixture, 'model'));
  const rows: number[][] = JSON.parse(
    readFileSync(path.join(fixture, 'data.json'), 'utf8'),
  ).background;
  const samples: Record<string, number>[] = [];
  for (let run = 0; run <= runs; run++) {
    if (run % Math.max(1, Math.floor(runs / 10)) === 0) {
      const mem = process.memoryUsage();
      samples.push({
        run,
        tensors: tf.memory().numTensors,
        tensorBytes: tf.memory().numBytes,
        rssMiB: Math.round(mem.rss / 2 ** 20),
        heapUsedMiB: Math.round(mem.heapUsed / 2 ** 20),
      });
    }
    if (run === runs) break;
    // A new probe per run, as each job builds one.
    const probe = await buildLayersProbe(model, { wants: () => true, wantsInside: () => true });
    await runStats(probe, rows, { maxBatchRows: 32 });
  }
  process.stdout.write(`${JSON.stringify({ fixture, runs, samples }, null, 1)}\n`);
  model.dispose();
}

await main();
