// Logger options shared by every process: JSON lines, secrets redacted.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Builds the process logger.
 * @param level - pino level name from the configuration.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey'],
      censor: '[redacted]',
    },
  });
}
