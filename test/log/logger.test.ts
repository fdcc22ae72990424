// Logger options: pretty output only on a terminal with pino-pretty installed; secrets redacted.
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/log/logger.js';
import { captureLog } from '../helpers/log-capture.js';

describe('loggerOptions', () => {
  it('uses pino-pretty on a terminal where it is installed', () => {
    const options = loggerOptions('info', { isTty: true, prettyInstalled: true });
    expect(options.transport).toMatchObject({ target: 'pino-pretty' });
  });

  it('writes JSON lines when stdout is not a terminal', () => {
    expect(
      loggerOptions('info', { isTty: false, prettyInstalled: true }).transport,
    ).toBeUndefined();
  });

  it('writes JSON lines on a terminal without pino-pretty (a production install)', () => {
    expect(
      loggerOptions('info', { isTty: true, prettyInstalled: false }).transport,
    ).toBeUndefined();
  });
});

describe('createLogger', () => {
  it('redacts authorization headers and cookies', () => {
    const log = captureLog();
    log.logger.info(
      { req: { headers: { authorization: 'Bearer s3cret-value', cookie: 'sid=abc123' } } },
      'request',
    );
    const [line] = log.lines();
    expect(line.req).toEqual({ headers: { authorization: '[redacted]', cookie: '[redacted]' } });
    expect(log.text()).not.toContain('s3cret-value');
  });
});
