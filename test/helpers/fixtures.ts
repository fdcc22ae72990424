// Paths and data of the shared fixtures and published models next to the checkout.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SHARED_DIR = process.env.GLASSBOX_SHARED_DIR ?? path.resolve(here, '../../../shared');
export const FIXTURES_DIR = path.join(SHARED_DIR, 'fixtures');
export const REAL_MODELS_DIR = path.join(SHARED_DIR, 'realmodels');

export interface FixtureData {
  featureNames: string[];
  outputNames: string[];
  task: string;
  background: number[][];
  instances: number[][];
  labels: number[];
}

export interface OracleValues {
  baseValues: number[] | number[][];
  outputs: number[][];
  values: number[][][];
}

export function fixtureData(name: string): FixtureData {
  return JSON.parse(
    readFileSync(path.join(FIXTURES_DIR, name, 'data.json'), 'utf8'),
  ) as FixtureData;
}

export function fixtureOracle(name: string, file: string): OracleValues {
  return JSON.parse(
    readFileSync(path.join(FIXTURES_DIR, name, 'oracle', file), 'utf8'),
  ) as OracleValues;
}

/** model.json text, and weight file contents by file name. */
export interface ModelFiles {
  modelJson: string;
  weights: Map<string, Buffer>;
}

/** model.json text and weight files of a fixture model folder. */
export function modelFiles(folder: string): ModelFiles {
  const modelJson = readFileSync(path.join(folder, 'model.json'), 'utf8');
  const manifest = JSON.parse(modelJson).weightsManifest as { paths: string[] }[];
  const weights = new Map<string, Buffer>();
  for (const p of manifest.flatMap((g) => g.paths)) {
    weights.set(p, readFileSync(path.join(folder, p)));
  }
  return { modelJson, weights };
}

export function fixtureModelDir(name: string): string {
  return path.join(FIXTURES_DIR, name, 'model');
}
