// The tile history of several nodes sharing one Redis (docs/protocol.md section 9): every tile the
// publish script assigns a seq to is also added to a capped stream (entry id "<seq>-1", the
// envelope in field "e"; XADD MAXLEN ~ --tile-history) and its coordinate's latest seq kept
// in a hash (src/bus/redis/scripts.ts). Any node can therefore serve a resume or a map,
// also after it restarted. The epoch is the deployment's: created once in Redis (SET NX); it
// changes only when Redis loses it (with the seq counters, so a new sequence space).
import type { Redis } from 'ioredis';
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import { randomEpoch } from '../../store/meta.js';
import { decodeEnvelope, frameOfEnvelope } from './envelope.js';
import { COMMAND_TIMEOUT_MS, loadRedis, reconnectDelay } from './connection.js';
import { REDIS_NAMES } from './scripts.js';
import type { TileBatch, TileHistory, TileRead } from '../tile-history.js';

/** Where the history is and who reads it. */
export interface RedisTileHistoryOptions {
  /** The same Redis URL as the bus (--redis). */
  url: string;
  /** This node's id: its own envelopes carry its producer origins. */
  nodeId: string;
}

/**
 * The deployment's tile history in Redis (see the file's comment), on a connection of its own
 * beside the bus's two. Each read is one XRANGE (plus one HMGET for a map); a read Redis does
 * not answer within COMMAND_TIMEOUT_MS rejects, and the caller closes that client with 1011
 * (docs/protocol.md section 9.4).
 */
export class RedisTileHistory implements TileHistory {
  private readonly redis: Redis;
  private currentEpoch = '';

  constructor(private readonly options: RedisTileHistoryOptions) {
    this.redis = new (loadRedis())(options.url, {
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: reconnectDelay,
    });
    // Failures surface as rejected reads (the client is closed and may resume again).
    this.redis.on('error', () => undefined);
  }

  /**
   * Reads (or creates, SET NX) the epoch; resolves with Redis's tile counter. Never rejects:
   * with Redis away it takes a random epoch and resolves 0, so no resume is honoured until
   * Redis answers again (`horizon` reads the epoch anew).
   */
  async start(): Promise<number> {
    await this.redis.connect().catch(() => undefined);
    try {
      await this.refreshEpoch();
      return Number((await this.redis.get(REDIS_NAMES.tileSeq)) ?? 0);
    } catch {
      // Redis away at start: no resume is honoured until it answers (horizon() reads again).
      this.currentEpoch = randomEpoch();
      return 0;
    }
  }

  /** The deployment's epoch (REDIS_NAMES.epoch), as last read. */
  epoch(): string {
    return this.currentEpoch;
  }

  /**
   * The seq before the oldest entry kept; with none kept, the counter (nothing recoverable
   * below it). Reads the epoch again first (Redis may have lost it). Rejects when Redis
   * cannot be read.
   */
  async horizon(): Promise<number> {
    await this.refreshEpoch();
    const [first] = await this.redis.xrange(REDIS_NAMES.tileHistory, '-', '+', 'COUNT', 1);
    if (first !== undefined) return seqOfId(first[0]) - 1;
    return Number((await this.redis.get(REDIS_NAMES.tileSeq)) ?? 0);
  }

  /**
   * Entries with a seq in (after, upTo]. For the map, an entry goes out when it is its
   * coordinate's latest; a coordinate whose latest is above `upTo` is left out here, as that
   * newer tile reaches the client live (map-delivery.ts holds it). An entry whose envelope
   * is malformed is skipped. Rejects when Redis cannot be read.
   */
  async read(kind: TileRead, after: number, upTo: number, limit: number): Promise<TileBatch> {
    if (after >= upTo) return { frames: [], last: after, more: false };
    const entries = await this.redis.xrangeBuffer(REDIS_NAMES.tileHistory, `${after + 1}-0`, `${upTo}-1`, 'COUNT', limit);
    const frames: ReadyFrame[] = [];
    const coordinates: string[] = [];
    let last = after;
    for (const [id, fields] of entries) {
      last = seqOfId(id.toString());
      const envelope = envelopeOf(fields);
      if (envelope === null) continue;
      frames.push(frameOfEnvelope(envelope, this.options.nodeId));
      if (kind === 'map') coordinates.push(envelope.coordinate);
    }
    const more = entries.length === limit;
    if (kind === 'since' || frames.length === 0) return { frames, last, more };
    const latest = await this.redis.hmget(REDIS_NAMES.tileLatest, ...coordinates);
    return { frames: frames.filter((frame, i) => Number(latest[i]) === frame.seq), last, more };
  }

  /** Closes the connection at once (reads in progress reject). */
  async stop(): Promise<void> {
    this.redis.disconnect();
  }

  private async refreshEpoch(): Promise<void> {
    await this.redis.set(REDIS_NAMES.epoch, randomEpoch(), 'NX');
    const epoch = await this.redis.get(REDIS_NAMES.epoch);
    if (epoch !== null) this.currentEpoch = epoch;
  }
}

function seqOfId(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** The envelope in an entry's fields ["e", <bytes>], decoded (null when malformed). */
function envelopeOf(fields: Buffer[]) {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toString() !== 'e') continue;
    try {
      return decodeEnvelope(fields[i + 1]!);
    } catch {
      return null;
    }
  }
  return null;
}
