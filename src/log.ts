// Structured logs: JSON lines for machines (journald, files), readable lines on a terminal.
// Nothing on the broadcast path logs per message; repeated lines go through RateLimitedLog
// (src/util/rate-limited-log.ts).
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { isatty } from 'node:tty';
import { createRequire } from 'node:module';

export type { Logger };

/** The values of `--log-level`: pino's levels, most severe first, and `silent`. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A pino logger at `level` (one of LOG_LEVELS) writing to file descriptor `fd` (default 1,
 * stdout): JSON lines, or pino-pretty's readable lines when `fd` is a terminal. Synchronous, so
 * no line is lost on exit. Throws pino's Error for an unknown level.
 */
export function createLogger(level: string, fd = 1): Logger {
  const options = { level, base: { service: 'wirecam' } };
  if (isatty(fd)) {
    // Loaded only for a terminal: a service writing JSON lines does not carry it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ sync: true, destination: fd, ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}
