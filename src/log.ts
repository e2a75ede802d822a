// Structured logs: JSON lines for machines (journald, files), readable lines on a terminal.
// Nothing on the broadcast path logs per message; repeated lines go through RateLimitedLog
// (src/util/rate-limited-log.ts).
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { isatty } from 'node:tty';
import { createRequire } from 'node:module';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Logs go to stdout (fd 1) unless told otherwise; synchronous, so no line is lost on exit. */
export function createLogger(level: string, fd = 1): Logger {
  const options = { level, base: { service: 'wirecam' } };
  if (isatty(fd)) {
    // Loaded only for a terminal: a service writing JSON lines does not carry it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ sync: true, destination: fd, ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}
