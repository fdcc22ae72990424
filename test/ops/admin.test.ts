// The queue dashboard: off without an admin key, 401 without the right key, 200 with it.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { captureLog, type CapturedLog } from '../helpers/log-capture.js';

const ADMIN_KEY = 'k3y-for-the-queue-board-0123';
let t: TestApp;
let log: CapturedLog;

beforeAll(async () => {
  log = captureLog('info');
  t = await buildTestApp({ ADMIN_API_KEY: ADMIN_KEY }, { logger: log.logger });
});
afterAll(async () => t?.close());

const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

describe('/admin/queues with an admin key configured', () => {
  it('answers 401 problem+json and asks for credentials without a key', async () => {
    const res = await request(t.app.server).get('/admin/queues');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    expect(res.body.code).toBe('GBX_ERR_ADMIN_UNAUTHORIZED');
  });

  it('answers 401 for a wrong key, as Bearer or as Basic password', async () => {
    const wrong = `${ADMIN_KEY}x`;
    for (const authorization of [`Bearer ${wrong}`, basic(wrong), `Token ${ADMIN_KEY}`]) {
      const res = await request(t.app.server)
        .get('/admin/queues')
        .set('authorization', authorization);
      expect(res.status, authorization).toBe(401);
    }
  });

  it('serves the board with the key as a Bearer token or as a Basic password', async () => {
    for (const authorization of [`Bearer ${ADMIN_KEY}`, basic(ADMIN_KEY)]) {
      const res = await request(t.app.server)
        .get('/admin/queues')
        .set('authorization', authorization);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
    }
  });

  it("guards the board's data routes too, and lists the job queue", async () => {
    expect((await request(t.app.server).get('/admin/queues/api/queues')).status).toBe(401);
    const res = await request(t.app.server)
      .get('/admin/queues/api/queues')
      .set('authorization', `Bearer ${ADMIN_KEY}`);
    expect(res.status).toBe(200);
    expect(res.body.queues.map((q: { name: string }) => q.name)).toEqual(['jobs']);
  });

  it('never writes the key into the log', () => {
    expect(log.text()).toContain('admin request refused');
    expect(log.text()).not.toContain(ADMIN_KEY);
    expect(log.text()).not.toContain(Buffer.from(`ops:${ADMIN_KEY}`).toString('base64'));
  });
});

describe('/admin/queues without an admin key', () => {
  it('is not mounted', async () => {
    const plain = await buildTestApp();
    try {
      const res = await request(plain.app.server)
        .get('/admin/queues')
        .set('authorization', `Bearer ${ADMIN_KEY}`);
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('ADMIN_API_KEY', () => {
  it('must be at least 16 characters, and a rejected key is not echoed', () => {
    let error: unknown;
    try {
      loadConfig({ ADMIN_API_KEY: 'short-secret' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('ADMIN_API_KEY');
    expect((error as ConfigError).message).not.toContain('short-secret');
  });
});
