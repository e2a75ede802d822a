// One WebSocket connection after the handshake: what it sends us (docs/protocol.md section 5) and
// the replies that are for it alone (errors, acks). Broadcast frames reach it via the hub.
import type WebSocket from 'ws';
import { decodeClientMessage } from '../protocol/decode.js';
import { encodeFrame } from '../protocol/encode.js';
import {
  ALL_CAMERAS,
  CLOSE_POLICY_VIOLATION,
  type ClientMessage,
  type Encoding,
  type ErrorCode,
  type Hello,
  type Role,
} from '../protocol/messages.js';
import { clampMaxHz, normalizeCameras } from '../protocol/negotiate.js';
import type { FanoutClient, Subscription } from '../fanout/client.js';
import type { Hub } from '../fanout/hub.js';
import type { ProducerSink, ProducerWriter } from '../ingest/producers.js';
import type { ServiceCounters } from './counters.js';
import { TokenBucket } from '../util/token-bucket.js';

/** docs/protocol.md section 4.6 (`too_many_errors`): the tenth error within ERROR_WINDOW_MS closes the connection with 1008. */
const ERROR_LIMIT = 10;
/** The window of ERROR_LIMIT (ms). */
const ERROR_WINDOW_MS = 10_000;
/**
 * How long a client the server closes has to read the Close frame and answer it before its
 * socket is destroyed (ms). A client that is not reading meanwhile (its Close still queued
 * behind what it had not read) then sees the connection end without a Close: 1006.
 * docs/protocol.md section 7.
 */
export const CLOSE_GRACE_MS = 5_000;
/** docs/protocol.md section 7: `subscribe` messages one connection may send per second on average. */
export const SUBSCRIBES_PER_SECOND = 2;
/**
 * docs/protocol.md section 7: `heartbeat` messages one connection may send per second on average,
 * at least; more when the server's own heartbeats come faster (two per --heartbeat-ms).
 */
export const HEARTBEATS_PER_SECOND = 2;
/** The burst of each of those budgets: that many messages at once (a token bucket's capacity). */
export const MESSAGE_BURST = 5;

/** What every session of a node shares: where updates go, what is counted, the rate bounds. */
export interface SessionContext {
  /** Where `subscribe` changes the client's subscription, and whose clock (ms) the session uses. */
  hub: Hub;
  /** Where producers' updates are queued for the store. */
  producers: ProducerWriter;
  counters: ServiceCounters;
  /** --max-hz: the ceiling a `subscribe`'s `max_hz` is clamped to (docs/protocol.md section 3). */
  maxHz: number;
  /** Updates per second one producer connection may send. */
  maxProducerRate: number;
  /** --heartbeat-ms: the server's heartbeat interval, which a client's heartbeat answers follow (ms). */
  heartbeatMs: number;
  /** False while shutting down: updates are no longer taken. */
  accepting(): boolean;
}

/**
 * `heartbeat` messages per second a connection may send on average: HEARTBEATS_PER_SECOND, or
 * two per server heartbeat of `heartbeatMs` (ms) when that is more.
 */
export function heartbeatRate(heartbeatMs: number): number {
  return Math.max(HEARTBEATS_PER_SECOND, 2_000 / heartbeatMs);
}

/**
 * The hub's Subscription for cameras as asked (normalized; `*` anywhere: every camera) at
 * `maxHz` (already clamped). `tiles`: false for a client that asked for no tiles (`tiles=none`).
 */
export function toSubscription(cameras: readonly string[], maxHz: number, tiles = true): Subscription {
  const normalized = normalizeCameras(cameras);
  return { cameras: normalized[0] === ALL_CAMERAS ? null : new Set(normalized), maxHz, tiles };
}

/**
 * One WebSocket connection after the handshake (see the module comment): decodes and answers
 * what the client sends (docs/protocol.md section 5), acknowledges a producer's stored updates, and
 * closes the connection. Bad input is answered with `error` and changes nothing.
 */
export class Session implements ProducerSink {
  /** When the client was last heard from: any message, ping or pong (hub clock, ms). */
  lastHeardAt: number;
  private errorTimes: number[] = [];
  private closing = false;
  /** A producer's allowance of updates (a second's worth at once, refilled at the rate). */
  private readonly updateBudget: TokenBucket | null;
  /** The allowance of `subscribe` messages (MESSAGE_BURST at once, refilled at SUBSCRIBES_PER_SECOND). */
  private readonly subscribeBudget: TokenBucket;
  /** The allowance of `heartbeat` messages (MESSAGE_BURST at once, refilled at heartbeatRate()). */
  private readonly heartbeatBudget: TokenBucket;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly client: FanoutClient,
    readonly role: Role,
    readonly encoding: Encoding,
    private readonly context: SessionContext,
    /** The hello this client gets (null in legacy JSON mode); sent late when its map comes first. */
    readonly hello: Hello | null = null,
  ) {
    this.lastHeardAt = context.hub.now();
    const rate = context.maxProducerRate;
    this.updateBudget = role === 'producer' ? new TokenBucket(rate, Math.max(1, Math.ceil(rate)), this.lastHeardAt) : null;
    this.subscribeBudget = new TokenBucket(SUBSCRIBES_PER_SECOND, MESSAGE_BURST, this.lastHeardAt);
    this.heartbeatBudget = new TokenBucket(heartbeatRate(context.heartbeatMs), MESSAGE_BURST, this.lastHeardAt);
  }

  /** True once `close` or `terminate` began: nothing more is sent or taken. */
  get isClosing(): boolean {
    return this.closing;
  }

  /** Notes a sign of life (a ping or pong; messages call it themselves). */
  heard(): void {
    this.lastHeardAt = this.context.hub.now();
  }

  /**
   * One message from the client (`isBinary`: a binary frame): decoded for the session's
   * encoding, then a subscribe, a heartbeat, or a producer's update. Every message counts
   * against a budget of the connection, one per type: updates --max-producer-rate, subscribes
   * SUBSCRIBES_PER_SECOND, heartbeats heartbeatRate() (each MESSAGE_BURST at once); a message
   * past its budget is answered `rate_limited` and does nothing, so that one connection cannot
   * make the hub do unbounded work (a subscribe sends the snapshot of every camera it adds).
   * Invalid input is answered with `error`. Every error counts towards ERROR_LIMIT.
   */
  handle(data: Buffer, isBinary: boolean): void {
    this.heard();
    if (this.closing) return;
    const decoded = decodeClientMessage(data, isBinary, this.encoding, Date.now());
    if (!decoded.ok) {
      this.fail(decoded.code, decoded.message);
      return;
    }
    this.dispatch(decoded.message);
  }

  private dispatch(message: ClientMessage): void {
    switch (message.type) {
      case 'heartbeat':
        if (!this.heartbeatBudget.take(this.context.hub.now())) this.refuseOverBudget('heartbeat', this.heartbeatBudget);
        return;
      case 'subscribe': {
        if (!this.subscribeBudget.take(this.context.hub.now())) {
          this.refuseOverBudget('subscribe', this.subscribeBudget);
          return;
        }
        const maxHz = message.maxHz === null ? this.client.subscription.maxHz : clampMaxHz(message.maxHz, this.context.maxHz);
        this.context.hub.resubscribe(this.client, toSubscription(message.cameras, maxHz, this.client.subscription.tiles !== false));
        return;
      }
      case 'camera_update':
      case 'tile_update': {
        if (this.role !== 'producer') {
          this.fail('unauthorized', 'updates need a producer token');
          return;
        }
        if (!this.updateBudget!.take(this.context.hub.now())) {
          this.fail('rate_limited', `at most ${this.context.maxProducerRate} updates per second; this one was not stored`);
          return;
        }
        if (!this.context.accepting()) return;
        const update =
          message.type === 'camera_update'
            ? ({ kind: 'camera', value: message.value } as const)
            : ({ kind: 'tile', value: message.value } as const);
        if (this.context.producers.enqueue(update, this)) this.context.counters.updatesAccepted++;
        else this.context.counters.updatesRefused++;
        return;
      }
    }
  }

  /** ProducerSink: the update is stored under `seq`; sends `ack` (docs/protocol.md section 4.5). */
  acknowledge(seq: number): void {
    this.client.send(encodeFrame({ type: 'ack', seq }, this.encoding));
  }

  /** Answers a message past its budget with `rate_limited`, naming when the next one is taken. */
  private refuseOverBudget(type: 'subscribe' | 'heartbeat', budget: TokenBucket): void {
    const ms = budget.msUntilToken(this.context.hub.now());
    this.fail('rate_limited', `too many ${type} messages; this one was ignored (the next is taken in ${ms} ms)`);
  }

  /** Answers with `error`; the tenth within ten seconds also closes with 1008. */
  private fail(code: ErrorCode, message: string): void {
    this.sendError(code, message);
    const now = this.context.hub.now();
    this.errorTimes.push(now);
    while (this.errorTimes.length > 0 && now - this.errorTimes[0]! >= ERROR_WINDOW_MS) this.errorTimes.shift();
    if (this.errorTimes.length >= ERROR_LIMIT) {
      this.sendError('too_many_errors', `${ERROR_LIMIT} errors within ${ERROR_WINDOW_MS / 1000} s`);
      this.close(CLOSE_POLICY_VIOLATION, 'too many errors');
    }
  }

  private sendError(code: ErrorCode, message: string): void {
    this.context.counters.errorsSent[code]++;
    this.client.send(encodeFrame({ type: 'error', code, message }, this.encoding));
  }

  /**
   * Stops broadcast to this client and drops what it was still owed first, so that the Close
   * frame does not wait behind a backlog and nothing is written after it (RFC 6455 section 7:
   * a server may close at any time). A client that does not answer the close within
   * `graceMs` (it may not be reading at all) is cut off.
   */
  close(code: number, reason: string, graceMs = CLOSE_GRACE_MS): void {
    if (this.closing) return;
    this.closing = true;
    this.context.hub.leave(this.client);
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), graceMs).unref();
  }

  /** Stops broadcast to this client and destroys the socket without a closing handshake (idle timeout). */
  terminate(): void {
    this.closing = true;
    this.context.hub.leave(this.client);
    this.ws.terminate();
  }
}
