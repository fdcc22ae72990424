// Uploads models to the service over REST, as the multipart requests a client sends.
import type { Server } from 'node:http';
import request from 'supertest';
import { fixtureModelDir, modelFiles, type ModelFiles } from './fixtures.js';

/**
 * POST /v1/models with model.json and every weight file of `files`, and `metadata` as JSON when
 * given.
 * @param target - a base URL or an in-process server.
 * @returns the request, to await for the response or to add to first (headers, more parts).
 */
export function uploadModel(
  target: string | Server,
  files: ModelFiles,
  metadata?: unknown,
): request.Test {
  let req = request(target)
    .post('/v1/models')
    .attach('model', Buffer.from(files.modelJson), 'model.json');
  for (const [name, data] of files.weights) req = req.attach('weights', data, name);
  if (metadata !== undefined) req = req.field('metadata', JSON.stringify(metadata));
  return req;
}

/** {@link uploadModel} with the files of the fixture model `name` (under shared/fixtures). */
export function uploadFixtureModel(
  target: string | Server,
  name: string,
  metadata?: unknown,
): request.Test {
  return uploadModel(target, modelFiles(fixtureModelDir(name)), metadata);
}
