// Tensor count and process memory over consecutive activation-statistics runs.
// Run: node --import tsx bench/activation-memory.ts [runs] [fixture-folder]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkArtifacts } from '../src/models/artifacts.js';
import { loadModel } from '../src/models/tf-model.js';
import { computeActivationStats } from '../src/stats/activation-stats.js';
import { buildLayersProbe } from '../src/stats/layers-probe.js';
import { selectBackend } from '../src/tf/backend.js';

const runs = Number(process.argv[2] ?? 200);
const shared = process.env.GLASSBOX_SHARED_DIR ?? path.resolve('..', 'shared');
const fixture = process.argv[3] ?? path.join(shared, 'fixtures', 'wine-bn');

function modelArtifacts(folder: string) {
  const text = readFileSync(path.join(folder, 'model', 'model.json'), 'utf8');
  const files = new Map<string, Buffer>();
  for (const group of JSON.parse(text).weightsManifest) {
    for (const p of group.paths) files.set(p, readFileSync(path.join(folder, 'model', p)));
  }
  return checkArtifacts(text, files);
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const model = (await loadModel(modelArtifacts(fixture))) as tf.LayersModel;
  const rows: number[][] = JSON.parse(
    readFileSync(path.join(fixture, 'data.json'), 'utf8'),
  ).background;
  const rowSize = rows[0].length;
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
    await computeActivationStats(probe, {
      rowSize,
      sampleCount: rows.length,
      readRows: (start, count, into) => {
        for (let r = 0; r < count; r++) into.set(rows[start + r], r * rowSize);
      },
      histogramBins: 30,
      driftThreshold: 2,
      batchValueBudget: 1 << 24,
      maxBatchRows: 32,
    });
  }
  process.stdout.write(`${JSON.stringify({ fixture, runs, samples }, null, 1)}\n`);
  model.dispose();
}

await main();
