// Logger options shared by every process: JSON lines, secrets redacted, pretty only on a terminal.
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Header and field paths whose values are replaced before a line is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  '*.apiKey',
  '*.adminApiKey',
  'ADMIN_API_KEY',
];

/** Where the log goes and how it looks. */
export interface OutputChoice {
  /** Whether stdout is a terminal. */
  isTty: boolean;
  /** Whether the optional pino-pretty package can be loaded. */
  prettyInstalled: boolean;
}

/**
 * Logger options for a level and an output: JSON lines, except on a terminal where pino-pretty is
 * installed (a development dependency, absent from production images).
 */
export function loggerOptions(level: string, output: OutputChoice): LoggerOptions {
  const options: LoggerOptions = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (output.isTty && output.prettyInstalled) {
    options.transport = { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } };
  }
  return options;
}

function prettyInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the process logger.
 * @param level - pino level name from the configuration.
 * @param destination - where lines go; stdout (pretty on a terminal) when absent.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  if (destination)
    return pino(loggerOptions(level, { isTty: false, prettyInstalled: false }), destination);
  const output = { isTty: process.stdout.isTTY === true, prettyInstalled: prettyInstalled() };
  return pino(loggerOptions(level, output));
}
