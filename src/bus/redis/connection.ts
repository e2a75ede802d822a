// The two Redis connections of a node's bus (commands, and the subscriber) and the phase they
// put the bus in: connecting, online, down (serving local clients only) or resynchronising.
// ioredis reconnects by itself (with the delays below); each connection is also checked by
// its own liveness PING (liveness.ts), so that a path that stops delivering without closing
// is named, dropped and reconnected like any other outage.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import type { RateLimitedLog } from '../../util/rate-limited-log.js';
import { Backoff } from '../../util/backoff.js';
import { describeError } from '../../util/describe-error.js';
import type { BusState } from '../bus.js';
import { ConnectionLiveness } from './liveness.js';
import { REDIS_NAMES } from './scripts.js';

/** A command not answered in this time (ms) fails, and the node serves locally until it resyncs. */
export const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;

/** ioredis's reconnection delays for every Redis connection of a node: 100 ms, doubling to 1 s. */
const RECONNECT_DELAYS = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });

/** ioredis's `retryStrategy`: the delay (ms) before reconnection attempt `attempt` (1, 2, ...). */
export function reconnectDelay(attempt: number): number {
  return RECONNECT_DELAYS.delayAfter(attempt - 1);
}

/**
 * ioredis, loaded on first use: a node without --redis (most of them) does not carry its
 * code (some 15 MB of resident memory).
 */
export function loadRedis(): typeof Redis {
  return (createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }).Redis;
}

/**
 * Where the bus stands with Redis: `connecting` (until the first join, in RedisBus.snapshot),
 * `online` (publishing through Redis), `down` (a connection lost or a command failed: serving
 * local clients only, with provisional seqs), `resyncing` (both connections back, settling
 * with Redis: resync.ts). /healthz shows `ok` only while `online`.
 */
export type Phase = 'connecting' | 'online' | 'down' | 'resyncing';
/** The bus's two connections, as named in log lines and on /healthz. */
export type ConnectionName = 'commands' | 'subscriber';

/** What the bus does when the connections change. */
export interface ConnectionHooks {
  /** A connection became ready (both may be ready now: then the bus resynchronises). */
  ready(): void;
  /** A connection closed (before it is counted as lost). */
  lost(connection: ConnectionName): void;
  /** A message on the subscription: an envelope (envelope.ts). */
  message(message: Buffer): void;
}

/**
 * The bus's connections to one Redis, their phase, and the last error they met. Commands fail
 * fast while Redis is away (no offline queue, no retry, COMMAND_TIMEOUT_MS); ioredis
 * reconnects with `reconnectDelay`. Connection errors are logged at debug level, rate-limited
 * per connection; a lost connection at warn level when it ends `online`; one that stops
 * answering PING (liveness.ts) at warn level, rate-limited, before its socket is destroyed.
 */
export class RedisConnections {
  /** Scripts, reads and writes (publish.ts, resync.ts). */
  readonly commands: Redis;
  /** The subscription to every camera's channel and the tile channel (`subscribe`). */
  readonly subscriber: Redis;
  /** Set to `down` here on a loss or failed command; to `online`/`resyncing` by RedisBus and resync.ts. */
  phase: Phase = 'connecting';
  /** One line for /healthz and logs, naming the connection: "commands connection: …". */
  lastError: string | null = null;
  /** Counts lost connections: a resync during which one was lost must run again. */
  losses = 0;
  /** One liveness check per connection (liveness.ts). */
  private readonly liveness: ConnectionLiveness[];
  private stopped = false;

  constructor(
    url: string,
    private readonly nodeId: string,
    private readonly log: Logger,
    private readonly throttledLog: RateLimitedLog,
    hooks: ConnectionHooks,
  ) {
    this.commands = new (loadRedis())(url, {
      lazyConnect: true,
      // Fail fast while Redis is away: the update is served locally instead of waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: reconnectDelay,
    });
    // Subscribed again by the resync once both connections are up, not by ioredis on its own:
    // the states stored in Redis are read only after the subscription is in place.
    this.subscriber = this.commands.duplicate({ autoResubscribe: false, commandTimeout: COMMAND_TIMEOUT_MS });
    const connections = [['commands', this.commands], ['subscriber', this.subscriber]] as const;
    this.liveness = connections.map(
      ([name, connection]) => new ConnectionLiveness(connection, { onDead: (reason) => this.connectionDead(name, connection, reason) }),
    );
    for (const [name, connection] of connections) {
      connection.on('ready', () => hooks.ready());
      connection.on('close', () => {
        if (this.stopped) return;
        hooks.lost(name);
        this.connectionLost(name);
      });
      connection.on('error', (error: Error) => {
        this.lastError = `${name} connection: ${describeError(error)}`;
        const count = this.throttledLog.admit(`error:${name}`);
        if (count > 0) this.log.debug({ err: error.message, connection: name, count }, 'redis connection error');
      });
    }
    this.subscriber.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => hooks.message(message));
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => hooks.message(message));
  }

  /** For /healthz: `ok` only while online. */
  state(): { state: BusState; detail: string | null } {
    switch (this.phase) {
      case 'online':
        return { state: 'ok', detail: null };
      case 'resyncing':
        return { state: 'degraded', detail: 'redis: resynchronising after an outage' };
      case 'connecting':
        return { state: 'degraded', detail: 'redis: connecting' };
      default:
        return { state: 'degraded', detail: `redis unreachable${this.lastError === null ? '' : `: ${this.lastError}`}; serving local clients only` };
    }
  }

  /** Starts connecting both connections and checking that they answer (errors go to `lastError`). */
  connect(): void {
    this.commands.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    for (const check of this.liveness) check.start();
  }

  /** Both connections are ready (ioredis status `ready`): commands and subscription can run. */
  bothReady(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  /**
   * Resolves once both connections are ready; rejects after `timeoutMs` (ms) with an Error
   * carrying `lastError`, or "no answer from redis in N ms".
   */
  untilConnected(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.bothReady()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(this.lastError ?? `no answer from redis in ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.commands.off('ready', check);
        this.subscriber.off('ready', check);
      };
      this.commands.on('ready', check);
      this.subscriber.on('ready', check);
      check();
    });
  }

  /**
   * Subscribes to every camera's channel (PSUBSCRIBE REDIS_NAMES.cameraPattern) and the tile
   * channel. Throws an Error "subscriber connection: …" when either command fails.
   */
  async subscribe(): Promise<void> {
    try {
      await this.subscriber.psubscribe(REDIS_NAMES.cameraPattern);
      await this.subscriber.subscribe(REDIS_NAMES.tileChannel);
    } catch (error) {
      throw new Error(`subscriber connection: ${describeError(error)}`);
    }
  }

  /** A command failed (a timeout, a script error, a lost connection): the bus is down. */
  wentDown(error: unknown): void {
    this.lastError = `commands connection: ${describeError(error)}`;
    if (this.phase === 'online') {
      this.log.warn({ node: this.nodeId, err: this.lastError }, 'redis publish failed; serving local clients only');
    }
    this.phase = 'down';
  }

  /** No more events; the liveness checks stop (the connections stay until `disconnect`). */
  stop(): void {
    this.stopped = true;
    for (const check of this.liveness) check.stop();
  }

  /** Closes both sockets at once (ioredis `disconnect`, no QUIT: replies still pending are lost). */
  disconnect(): void {
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private connectionLost(connection: ConnectionName): void {
    if (this.phase === 'online') {
      this.log.warn({ node: this.nodeId, connection }, 'redis connection lost; serving local clients only');
    }
    this.losses++;
    if (this.phase !== 'connecting') this.phase = 'down';
  }

  /**
   * A connection that stopped answering while its socket stays open: named in one log line
   * and on /healthz, then its socket destroyed, so that ioredis reconnects and the node
   * resynchronises as after any outage.
   */
  private connectionDead(name: ConnectionName, connection: Redis, reason: string): void {
    if (this.stopped) return;
    this.lastError = `${name} connection: ${reason}`;
    const count = this.throttledLog.admit(`dead:${name}`);
    if (count > 0) {
      this.log.warn(
        { node: this.nodeId, connection: name, err: reason, count },
        'redis connection not answering; dropping it and reconnecting, serving local clients only',
      );
    }
    // Down before the socket closes, so that the close is not logged a second time, and
    // counted as lost at once, so that a resync running now does not end as online.
    if (this.phase !== 'connecting') this.phase = 'down';
    this.losses++;
    connection.stream?.destroy();
  }
}
