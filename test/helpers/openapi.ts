// Checks real responses against openapi.yaml with Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses).
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { loadOpenapiDocument } from '../../src/api/rest/openapi.js';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

/** Routes the app serves that belong to tools, not to the API contract. */
export const UNDOCUMENTED_ROUTE = /^\/(docs|graphiql|admin\/queues)(\/|$)/;

export interface RecordedResponse {
  method: string;
  /** The route pattern as Fastify knows it (`/v1/jobs/:id`). */
  route: string;
  status: number;
  contentType: string | undefined;
  body: string | undefined;
}

type Json = Record<string, any>;

/** `/v1/jobs/:id` as OpenAPI writes it: `/v1/jobs/{id}`. */
export function specPath(route: string): string {
  return route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export class SpecChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();

  private constructor(readonly document: Json) {
    addFormats(this.ajv);
  }

  static async load(): Promise<SpecChecker> {
    return new SpecChecker(await loadOpenapiDocument());
  }

  /** Every `METHOD /path` the spec documents. */
  operations(): string[] {
    return Object.entries(this.document.paths as Json).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => ['get', 'put', 'post', 'delete', 'patch'].includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
  }

  /** What is wrong with one response by the spec; null when it conforms. */
  check(response: RecordedResponse): string | null {
    const where = `${response.method} ${response.route} -> ${response.status}`;
    const operation =
      this.document.paths[specPath(response.route)]?.[response.method.toLowerCase()];
    if (!operation) return `${where}: the operation is not in the spec`;
    const documented = operation.responses[String(response.status)] ?? operation.responses.default;
    if (!documented) return `${where}: the status is not documented`;
    const spec = this.resolve(documented);
    if (!response.body) return null;
    const mediaType = (response.contentType ?? '').split(';')[0].trim();
    const content = spec.content?.[mediaType];
    if (!content) return `${where}: content type ${mediaType} is not documented`;
    // Text bodies (Prometheus metrics) are documented by media type; only JSON is validated.
    if (!content.schema || !/json$/.test(mediaType)) return null;

    const validate = this.validator(`${where} ${mediaType}`, content.schema);
    if (validate(JSON.parse(response.body))) return null;

    return `${where}: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}`;
  }

  /** Checks many responses; throws listing every one that does not conform. */
  assertConforms(responses: RecordedResponse[]): void {
    const problems = responses.map((r) => this.check(r)).filter((p): p is string => p !== null);
    if (problems.length > 0) {
      throw new Error(`responses that do not match openapi.yaml:\n  ${problems.join('\n  ')}`);
    }
  }

  private resolve(node: Json): Json {
    if (typeof node.$ref !== 'string') return node;
    const target = (node.$ref as string)
      .replace(/^#\//, '')
      .split('/')
      .reduce(
        (at: Json, key: string) => at[key.replace(/~1/g, '/').replace(/~0/g, '~')],
        this.document,
      );
    return this.resolve(target);
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      // The components travel with each schema so that its `#/components/...` refs resolve.
      validate = this.ajv.compile({ ...schema, components: this.document.components });
      this.validators.set(key, validate);
    }
    return validate;
  }
}
