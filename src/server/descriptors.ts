// Running out of file descriptors, made visible. When a process is at its descriptor limit
// (`ulimit -n`, RLIMIT_NOFILE), libuv accepts and at once closes every new connection (its
// reserved-descriptor trick) and Node hears nothing: the server looks dead and nothing is
// logged. Instead the listener gets a connection cap below the limit (`server.maxConnections`),
// leaving descriptors for the store, workers and Redis; a connection over it is closed
// unanswered by Node ('drop'), which is counted, logged once per episode and reported on
// /healthz. An accept error that still reaches Node (EMFILE, ENFILE) is treated the same way.
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Logger } from '../log.js';
import { describeError } from '../util/describe-error.js';
import type { ServiceCounters } from './counters.js';

/** Descriptors kept free for everything but client connections (store files, workers, Redis, a command source). */
export const DESCRIPTOR_RESERVE = 32;
/** How long, in ms, after the last dropped connection /healthz still reports `limited`. */
export const LIMITED_REPORT_MS = 60_000;

/** The soft RLIMIT_NOFILE of this process from /proc/self/limits; null when unknown (not Linux) or unlimited. */
export function descriptorLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line === undefined ? NaN : Number(line.slice('Max open files'.length).trim().split(/\s+/)[0]);
    return Number.isFinite(soft) && soft > 0 ? soft : null;
  } catch {
    return null;
  }
}

/** Descriptors this process has open now (/proc/self/fd, less the one reading it); null when unknown. */
export function descriptorsInUse(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

/** The connection cap for a descriptor `limit` with `inUse` open: at least 1. */
export function connectionBudget(limit: number, inUse: number): number {
  return Math.max(1, limit - inUse - DESCRIPTOR_RESERVE);
}

/** What /healthz shows: `limited` while connections were dropped within `LIMITED_REPORT_MS`. */
export type ConnectionsState = 'ok' | 'limited';

/**
 * Caps a listening server's connections below the descriptor limit and watches the cap.
 * `start()` is called once the server listens (the descriptors it then holds are counted).
 * The first drop of an episode logs one warning; the episode ends, with one info line, after
 * `LIMITED_REPORT_MS` without a drop.
 */
export class ConnectionGuard {
  private lastDropAt = -Infinity;
  private droppedInEpisode = 0;
  private cause = '';
  private episodeTimer: NodeJS.Timeout | null = null;
  /** The cap in force; null when the limit is unknown. */
  private maxConnections: number | null = null;

  constructor(
    private readonly server: Server,
    private readonly counters: ServiceCounters,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Sets `server.maxConnections` to `connectionBudget(limit, inUse)` when the limit is known
   * (Linux /proc), and listens for 'drop' and accept errors (EMFILE, ENFILE). Call once, after
   * the server listens.
   */
  start(): void {
    const limit = descriptorLimit();
    const inUse = descriptorsInUse();
    if (limit !== null && inUse !== null) {
      this.maxConnections = connectionBudget(limit, inUse);
      this.server.maxConnections = this.maxConnections;
      this.log.debug({ descriptor_limit: limit, descriptors_in_use: inUse, max_connections: this.maxConnections }, 'connection cap set below the descriptor limit');
    }
    this.server.on('drop', () => this.dropped(`at the connection cap of ${this.maxConnections} (descriptor limit less those in use and ${DESCRIPTOR_RESERVE} kept free)`));
    // After listen() this is the only error a listening server emits: a failed accept().
    this.server.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EMFILE' || error.code === 'ENFILE') this.dropped(`accept failed: ${describeError(error)}`);
      else this.log.error({ err: describeError(error) }, 'listener error');
    });
  }

  /** For /healthz: `limited`, with a one-line detail, within LIMITED_REPORT_MS of the last drop. */
  health(): { state: ConnectionsState; detail: string | null } {
    const sinceMs = this.now() - this.lastDropAt;
    if (sinceMs >= LIMITED_REPORT_MS) return { state: 'ok', detail: null };
    return {
      state: 'limited',
      detail: `descriptor limit reached: ${this.droppedInEpisode} connection(s) closed unanswered ${this.cause}; the last ${Math.round(sinceMs / 1000)} s ago`,
    };
  }

  private dropped(cause: string): void {
    this.counters.connectionsDropped++;
    if (this.episodeTimer === null) {
      this.droppedInEpisode = 0;
      this.cause = cause;
      this.log.warn({ max_connections: this.maxConnections, cause }, 'descriptor limit reached: new connections are closed unanswered until others close');
    }
    this.droppedInEpisode++;
    this.lastDropAt = this.now();
    if (this.episodeTimer !== null) {
      this.episodeTimer.refresh();
      return;
    }
    this.episodeTimer = setTimeout(() => {
      this.episodeTimer = null;
      this.log.info({ dropped: this.droppedInEpisode }, `connections accepted again: none dropped for ${LIMITED_REPORT_MS / 1000} s`);
    }, LIMITED_REPORT_MS);
    this.episodeTimer.unref();
  }
}
