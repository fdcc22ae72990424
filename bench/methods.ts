// Cost of each explanation method relative to plain inference: wall time of the method divided
// by the time one batched predict takes over the same number of model rows.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { toBackground, type EvaluationContext } from '../src/explain/coalition-values.js';
import { exactShap } from '../src/explain/exact-shap.js';
import { kernelShap } from '../src/explain/kernel-shap.js';
import { lime } from '../src/explain/lime.js';
import { permutationImportance } from '../src/explain/permutation-importance.js';
import { samplingShap } from '../src/explain/sampling-shap.js';
import { checkArtifacts } from '../src/models/artifacts.js';
import { loadModel, predictRows, type LoadedModel } from '../src/models/tf-model.js';

const BATCH_ROWS = 65_536;

interface Fixture {
  model: LoadedModel;
  inputShape: (number | null)[];
  outputCount: number;
  background: number[][];
  instances: number[][];
  labels: number[];
}

export interface MethodFigure {
  method: string;
  fixture: string;
  setting: string;
  modelRows: number;
  methodMs: number;
  predictMs: number;
  ratio: number;
}

function loadFixture(dir: string, outputCount: number): Promise<Fixture> {
  const modelDir = path.join(dir, 'model');
  const modelJson = readFileSync(path.join(modelDir, 'model.json'), 'utf8');
  const weights = new Map([['weights.bin', readFileSync(path.join(modelDir, 'weights.bin'))]]);
  const data = JSON.parse(readFileSync(path.join(dir, 'data.json'), 'utf8'));
  return loadModel(checkArtifacts(modelJson, weights)).then((model) => ({
    model,
    inputShape: (model.inputs[0].shape ?? []).map((d) => (d === -1 ? null : d)),
    outputCount,
    background: data.background,
    instances: data.instances,
    labels: data.labels,
  }));
}

function context(f: Fixture): EvaluationContext {
  return {
    evaluate: (rows, count) => predictRows(f.model, f.inputShape, rows, count),
    outputCount: f.outputCount,
    link: 'identity',
    batchRows: BATCH_ROWS,
    modelEvaluations: 0,
  };
}

/** One plain predict pass over `rows` background-like rows, in the same batch size. */
async function plainPredictMs(f: Fixture, rows: number): Promise<number> {
  const width = f.background[0].length;
  const data = new Float32Array(Math.min(rows, BATCH_ROWS) * width);
  for (let r = 0; r * width < data.length; r++)
    data.set(f.background[r % f.background.length], r * width);
  const started = performance.now();
  for (let done = 0; done < rows; done += BATCH_ROWS) {
    const count = Math.min(BATCH_ROWS, rows - done);
    await predictRows(f.model, f.inputShape, data.subarray(0, count * width), count);
  }
  return performance.now() - started;
}

async function measure(
  f: Fixture,
  label: { method: string; fixture: string; setting: string },
  run: (ctx: EvaluationContext) => Promise<unknown>,
): Promise<MethodFigure> {
  await run(context(f)); // warm-up: wasm kernels and allocations
  const ctx = context(f);
  const started = performance.now();
  await run(ctx);
  const methodMs = performance.now() - started;
  await plainPredictMs(f, ctx.modelEvaluations);
  const predictMs = await plainPredictMs(f, ctx.modelEvaluations);
  return {
    ...label,
    modelRows: ctx.modelEvaluations,
    methodMs,
    predictMs,
    ratio: methodMs / predictMs,
  };
}

/** Runs every method once on the fixtures in `fixturesDir` and returns the figures. */
export async function benchMethods(fixturesDir: string): Promise<MethodFigure[]> {
  const cancer = await loadFixture(path.join(fixturesDir, 'breast-cancer'), 1);
  const wine = await loadFixture(path.join(fixturesDir, 'wine'), 3);
  const cancerBg = toBackground(cancer.background);
  const figures: MethodFigure[] = [];
  figures.push(
    await measure(
      cancer,
      { method: 'kernel_shap', fixture: 'breast-cancer', setting: '5 instances, 100 bg, auto' },
      (ctx) =>
        kernelShap(ctx, cancer.instances.slice(0, 5), cancerBg, { nsamples: 'auto', seed: 1 }),
    ),
  );
  figures.push(
    await measure(
      cancer,
      { method: 'sampling_shap', fixture: 'breast-cancer', setting: '5 instances, 100 bg, auto' },
      (ctx) =>
        samplingShap(ctx, cancer.instances.slice(0, 5), cancerBg, {
          permutations: 'auto',
          seed: 1,
        }),
    ),
  );
  figures.push(
    await measure(
      wine,
      { method: 'exact_shap', fixture: 'wine', setting: '2 instances, 100 bg' },
      (ctx) => exactShap(ctx, wine.instances.slice(0, 2), toBackground(wine.background)),
    ),
  );
  figures.push(
    await measure(
      cancer,
      { method: 'lime', fixture: 'breast-cancer', setting: '20 instances, 5000 samples, auto' },
      (ctx) =>
        lime(ctx, cancer.instances, cancer.background, {
          numSamples: 5000,
          seed: 1,
          featureSelection: 'auto',
          discretizer: 'none',
          categorical: [],
          ridgeAlpha: 1,
        }),
    ),
  );
  figures.push(
    await measure(
      cancer,
      {
        method: 'permutation_importance',
        fixture: 'breast-cancer',
        setting: '100 rows, 30 features, 20 repeats',
      },
      (ctx) =>
        permutationImportance(ctx, cancer.background, {
          labels: JSON.parse(
            readFileSync(path.join(fixturesDir, 'breast-cancer', 'data.json'), 'utf8'),
          ).backgroundLabels,
          metric: 'log_loss',
          nRepeats: 20,
          seed: 1,
        }),
    ),
  );
  cancer.model.dispose();
  wine.model.dispose();
  return figures;
}

/** The figures as a Markdown table. */
export function formatFigures(figures: MethodFigure[]): string {
  const lines = [
    '| method | fixture | setting | model rows | method ms | predict ms | ratio |',
    '|---|---|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.method} | ${f.fixture} | ${f.setting} | ${f.modelRows} | ${f.methodMs.toFixed(0)} | ` +
        `${f.predictMs.toFixed(0)} | ${f.ratio.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}
