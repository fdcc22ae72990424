// Checks an uploaded TensorFlow.js model (model.json plus weight files) before anything is stored.
import { z } from 'zod';
import { GlassboxError, type FieldProblem } from '../errors.js';
import { checkLayersTopology } from './topology.js';

export type ModelFormat = 'layers-model' | 'graph-model';

const weightSpecSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
  quantization: z
    .object({ dtype: z.enum(['uint8', 'uint16', 'float16']) })
    .loose()
    .optional(),
});

const manifestSchema = z.array(
  z.object({ paths: z.array(z.string()).min(1), weights: z.array(weightSpecSchema) }),
);

export type WeightSpec = z.infer<typeof weightSpecSchema>;

/** model.json as TensorFlow.js writes it; other fields are kept as they are. */
export interface ModelJson {
  format?: string;
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  [key: string]: unknown;
}

/** A model.json and its weight data, checked and joined in manifest order. */
export interface ModelArtifacts {
  modelJson: ModelJson;
  format: ModelFormat;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  /** Manifest paths in order, each a plain file name. */
  weightPaths: string[];
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/** A weight file name: no separators, no parent references, nothing hidden in control bytes. */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\u0000-\u001f]/.test(name)
  );
}

/** Bytes a weight occupies in the weight data. */
export function weightByteLength(spec: WeightSpec): number {
  if (spec.dtype === 'string') {
    throw new GlassboxError(
      'GBX_ERR_UNSUPPORTED',
      `weight ${spec.name}: string weights are not supported yet`,
    );
  }
  const elements = spec.shape.reduce((a, b) => a * b, 1);
  return elements * BYTES_PER_ELEMENT[spec.quantization?.dtype ?? spec.dtype];
}

/**
 * Parses model.json and checks it against the uploaded weight files.
 * @param files - weight files by the name each was uploaded under.
 * @throws GlassboxError GBX_ERR_UPLOAD_INVALID listing every problem found.
 */
export function checkArtifacts(modelJsonText: string, files: Map<string, Buffer>): ModelArtifacts {
  const modelJson = parseModelJson(modelJsonText);
  const format = detectFormat(modelJson);
  if (format === 'layers-model') checkTopology(modelJson);
  const manifest = manifestSchema.safeParse(modelJson.weightsManifest ?? []);
  if (!manifest.success) {
    throw uploadError(
      manifest.error.issues.map((i) => ({
        path: ['model', 'weightsManifest', ...i.path].join('.'),
        message: i.message,
      })),
    );
  }
  const problems: FieldProblem[] = [];
  const paths = manifest.data.flatMap((group) => group.paths);
  checkPaths(paths, files, problems);
  const buffers = manifest.data.flatMap((group, g) => checkGroup(group, g, files, problems));
  if (problems.length > 0) throw uploadError(problems);

  const weightData = joinBuffers(buffers);
  return {
    modelJson: { ...modelJson, weightsManifest: manifest.data },
    format,
    weightSpecs: manifest.data.flatMap((group) => group.weights),
    weightData,
    weightPaths: paths,
  };
}

function parseModelJson(text: string): ModelJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw uploadError([{ path: 'model', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw uploadError([{ path: 'model', message: 'must be a JSON object' }]);
  }
  const json = parsed as Record<string, unknown>;
  const topology = json.modelTopology;
  if (typeof topology !== 'object' || topology === null || Array.isArray(topology)) {
    throw uploadError([
      { path: 'model.modelTopology', message: 'missing: not a TensorFlow.js model' },
    ]);
  }
  return json as ModelJson;
}

/** Refuses layers tfjs has no class for, and links it could not follow, before any load. */
function checkTopology(modelJson: ModelJson): void {
  const report = checkLayersTopology(modelJson.modelTopology);
  if (report.unsupported.length > 0) {
    const detail = report.unsupported.map((p) => p.message).join('; ');
    throw new GlassboxError('GBX_ERR_UPLOAD_UNSUPPORTED', detail, report.unsupported);
  }
  if (report.invalid.length > 0) throw uploadError(report.invalid);
}

function checkPaths(paths: string[], files: Map<string, Buffer>, problems: FieldProblem[]): void {
  const seen = new Set<string>();
  for (const name of paths) {
    if (!isPlainFileName(name)) {
      problems.push({
        path: 'model.weightsManifest',
        message: `weight path ${JSON.stringify(name)} must be a plain file name`,
      });
    } else if (seen.has(name)) {
      problems.push({
        path: 'model.weightsManifest',
        message: `weight path ${name} is listed twice`,
      });
    } else if (!files.has(name)) {
      problems.push({
        path: 'weights',
        message: `missing weight file ${name} named by the manifest`,
      });
    }
    seen.add(name);
  }
  for (const name of files.keys()) {
    if (!seen.has(name)) {
      problems.push({ path: 'weights', message: `weight file ${name} is not in the manifest` });
    }
  }
}

function checkGroup(
  group: { paths: string[]; weights: WeightSpec[] },
  index: number,
  files: Map<string, Buffer>,
  problems: FieldProblem[],
): Buffer[] {
  const buffers = group.paths.map((p) => files.get(p)).filter((b): b is Buffer => !!b);
  if (buffers.length !== group.paths.length) return [];
  let expected = 0;
  try {
    expected = group.weights.reduce((sum, spec) => sum + weightByteLength(spec), 0);
  } catch (err) {
    problems.push({ path: `model.weightsManifest.${index}`, message: (err as Error).message });
    return [];
  }
  const actual = buffers.reduce((sum, b) => sum + b.length, 0);
  if (actual !== expected) {
    problems.push({
      path: 'weights',
      message:
        `weight files ${group.paths.join(', ')} hold ${actual} bytes ` +
        `but their manifest entries need ${expected}`,
    });
  }
  return buffers;
}

function joinBuffers(buffers: Buffer[]): ArrayBuffer {
  const total = buffers.reduce((sum, b) => sum + b.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    joined.set(b, offset);
    offset += b.length;
  }
  return joined.buffer;
}

/** A GraphModel topology is a GraphDef (a `node` list); a LayersModel's names a Keras class. */
export function detectFormat(json: Record<string, unknown>): ModelFormat {
  if (json.format === 'graph-model') return 'graph-model';
  if (json.format === 'layers-model') return 'layers-model';
  const topology = json.modelTopology as Record<string, unknown>;
  return Array.isArray(topology.node) ? 'graph-model' : 'layers-model';
}

function uploadError(problems: FieldProblem[]): GlassboxError {
  const detail = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  return new GlassboxError('GBX_ERR_UPLOAD_INVALID', detail, problems);
}
