// Serves the contract: openapi.yaml as /openapi.json, and an interactive page at /docs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';

/** openapi.yaml at the package root, one level above src/ and dist/. */
export const OPENAPI_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../openapi.yaml',
);

export async function loadOpenapiDocument(file = OPENAPI_FILE): Promise<Record<string, unknown>> {
  return parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

export async function registerOpenapi(app: FastifyInstance): Promise<void> {
  const document = await loadOpenapiDocument();
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
