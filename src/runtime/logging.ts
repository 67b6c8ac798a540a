/**
 * Logging: pino JSON lines on stdout. Reconcile loggers are children carrying
 * `controller` and `key` (`namespace/name`), so every line of a reconcile says which
 * object it is about.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

/** The logger type every module takes. */
export type Logger = PinoLogger;

/** Logger settings. */
export interface LoggerOptions {
  /** @default 'info' */
  level?: LevelWithSilent;
  /** Static fields on every line (e.g. `identity`). */
  base?: Record<string, unknown>;
  /** Where lines go. @default stdout */
  destination?: NodeJS.WritableStream;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? process.stdout,
  );
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
