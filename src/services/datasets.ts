// Datasets: rows uploaded once (JSON or CSV) and named by id in explanation requests.
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { DatasetStore, type DatasetRecord } from '../datasets/store.js';
import { GlassboxError, overLimit, validationError, type FieldProblem } from '../errors.js';
import type { ServiceContext } from './context.js';

const datasetBodySchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    featureNames: z.array(z.string().min(1)).min(1).optional(),
    rows: z.array(z.array(z.unknown())).min(1),
  })
  .strict();

function store(ctx: ServiceContext): DatasetStore {
  return new DatasetStore(ctx.config.storeDir);
}

/**
 * Stores rows sent as JSON (`{name, featureNames, rows}`) or as CSV text with a header row;
 * a CSV upload takes its name from `csvName` (the `name` query parameter).
 * @throws GlassboxError 400 naming each bad cell by row and column.
 */
export async function createDataset(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  csvText?: string,
  csvName?: string,
): Promise<Omit<DatasetRecord, 'rows'>> {
  const input = csvText === undefined ? parseJsonBody(body) : parseCsvUpload(csvText, csvName);
  const problems: FieldProblem[] = [];
  if (input.rows.length > ctx.config.MAX_BACKGROUND_ROWS) {
    const limit = overLimit('MAX_BACKGROUND_ROWS', ctx.config.MAX_BACKGROUND_ROWS, 'rows');
    problems.push({ path: 'rows', message: `has ${input.rows.length} rows, ${limit.message}` });
  }
  const width = input.featureNames?.length ?? input.rows[0].length;
  const rows = input.rows.map((row, r) => checkRow(row, r, width, input.featureNames, problems));
  if (problems.length > 0) throw validationError(problems);

  const record: DatasetRecord = {
    id: randomUUID(),
    name: input.name ?? 'dataset',
    featureNames: input.featureNames ?? [],
    rowCount: rows.length,
    columnCount: width,
    createdAt: new Date().toISOString(),
    rows,
  };
  await store(ctx).save(principal.tenant, record);
  const { rows: _rows, ...summary } = record;
  return summary;
}

/** @throws GlassboxError 404 when the principal's tenant has no such dataset. */
export async function getDataset(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<DatasetRecord> {
  const record = await store(ctx).get(principal.tenant, id);
  if (!record) throw new GlassboxError('GBX_ERR_DATASET_NOT_FOUND', `no dataset with id ${id}`);
  return record;
}

/** The tenant's datasets without their rows, oldest first. */
export async function listDatasets(
  ctx: ServiceContext,
  principal: Principal,
): Promise<Omit<DatasetRecord, 'rows'>[]> {
  return store(ctx).list(principal.tenant);
}

/**
 * Removes a dataset. Jobs already queued with its rows keep them: a request copies the rows
 * it names into its job.
 * @throws GlassboxError 404 when the principal's tenant has no such dataset.
 */
export async function deleteDataset(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<void> {
  if (!(await store(ctx).delete(principal.tenant, id))) {
    throw new GlassboxError('GBX_ERR_DATASET_NOT_FOUND', `no dataset with id ${id}`);
  }
}

interface DatasetInput {
  name?: string;
  featureNames?: string[];
  rows: unknown[][];
}

function parseJsonBody(body: unknown): DatasetInput {
  const parsed = datasetBodySchema.safeParse(body);
  if (!parsed.success) {
    throw validationError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return parsed.data;
}

/** A CSV body and the name given beside it, which the JSON schema checks for JSON bodies. */
function parseCsvUpload(text: string, name: string | undefined): DatasetInput {
  const named = datasetBodySchema.shape.name.safeParse(name);
  if (!named.success) {
    throw validationError([{ path: 'name', message: named.error.issues[0].message }]);
  }
  return { ...parseCsv(text), name };
}

function parseCsv(text: string): DatasetInput {
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, trim: true, relax_column_count: true });
  } catch (err) {
    throw validationError([
      { path: '(body)', message: `not valid CSV: ${(err as Error).message}` },
    ]);
  }
  if (records.length < 2) {
    throw validationError([
      { path: '(body)', message: 'needs a header row and at least one data row' },
    ]);
  }
  const [header, ...data] = records;
  return {
    featureNames: header,
    // Cells that are not numbers stay text, so that an error can quote them.
    rows: data.map((cells) => cells.map((cell) => (isNumeral(cell) ? Number(cell) : cell))),
  };
}

function isNumeral(cell: string): boolean {
  return cell.trim() !== '' && Number.isFinite(Number(cell));
}

/** How a bad cell is named in an error: empty CSV cells and nulls apart from quoted values. */
function describeCell(cell: unknown): string {
  if (cell === '') return 'an empty cell';
  if (cell === null || cell === undefined) return 'null';
  return JSON.stringify(cell);
}

function checkRow(
  row: unknown[],
  r: number,
  width: number,
  names: string[] | undefined,
  problems: FieldProblem[],
): number[] {
  if (row.length !== width) {
    problems.push({ path: `rows.${r}`, message: `has ${row.length} values; expected ${width}` });
  }
  row.forEach((cell, c) => {
    if (typeof cell === 'number' && Number.isFinite(cell)) return;
    const column = names?.[c] ?? String(c);
    problems.push({
      path: `rows.${r}.${column}`,
      message: `must be a finite number; got ${describeCell(cell)}`,
    });
  });
  return row as number[];
}
