// Publishing an update accepted on this node: the store worker encoded it and marked its seq
// (ReadyFrame.template); here its payloads are only cut around the seq (seq-template.ts),
// then one script call per update (scripts.ts) assigns the seq,
// keeps the camera's latest state and publishes the envelope. While Redis cannot be reached
// the update is served here with a provisional seq and remembered; the tiles among them are
// published once Redis is back (the resync, resync.ts).
import type { Logger } from '../../log.js';
import type { RateLimitedLog } from '../../util/rate-limited-log.js';
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import { DELIVERED_HERE, envelopeMeta } from './envelope.js';
import { queuePublish, queueRaise, REDIS_NAMES, type PublishArgs, type PublishMode } from './scripts.js';
import { seqHeadsAndTails, withSeq as frameWithSeq, type SeqHeadsAndTails } from './seq-template.js';
import type { RedisConnections } from './connection.js';
import type { Shown } from './shown.js';

/** Tiles accepted during an outage and published to the other nodes once Redis is back. */
const MAX_PENDING_TILES = 10_000;

/**
 * Waiting to be published: the frame (which has a seq template), the payload bytes around
 * its seq (views into the frame), and for tiles the coordinate "x,y" (the key of the
 * history's latest-per-coordinate hash; '' for cameras).
 */
export interface Prepared {
  frame: ReadyFrame;
  parts: SeqHeadsAndTails;
  coordinate: string;
}

/**
 * The frame cut around its seq, as the store worker marked it: no encoding. Throws Error
 * when the frame has no seq template.
 */
export function prepare(frame: ReadyFrame): Prepared {
  return { frame, parts: seqHeadsAndTails(frame), coordinate: frame.template!.coordinate };
}

/** The prepared update as a frame with `seq` written in and the given producer origin (seq-template.ts). */
export function withSeq(item: Prepared, seq: number, origin: number): ReadyFrame {
  return frameWithSeq(item.frame, seq, origin);
}

/** [seq, published] from the publish script's reply; throws the command's error. */
export function replyOf(result: [Error | null, unknown] | undefined): [number, boolean] {
  if (result === undefined) throw new Error('no reply from redis');
  if (result[0] !== null) throw result[0];
  const [seq, published] = result[1] as [number, number];
  return [seq, published === 1];
}

/**
 * The publish script's arguments for one update (scripts.ts queuePublish): `floor` raises
 * the counter first, `flags` go into the envelope (envelope.ts), `historyLength` caps the
 * tile history (entries).
 */
export function publishArgs(item: Prepared, mode: PublishMode, floor: number, flags: number, nodeId: string, historyLength: number): PublishArgs {
  const { frame, parts, coordinate } = item;
  const { timestamp, origin, camera } = frame;
  return {
    mode,
    kind: frame.kind,
    camera,
    timestamp,
    floor,
    meta: envelopeMeta({ timestamp, origin, flags, node: nodeId, camera, coordinate }),
    ...parts,
    historyLength,
    coordinate,
  };
}

/** The bus's settings and hooks the publisher uses. */
export interface PublisherContext {
  nodeId: string;
  /** --tile-history: tiles kept in the Redis history stream. */
  tileHistory: number;
  log: Logger;
  throttledLog: RateLimitedLog;
  /** Frames for this node's graph. */
  emit(frames: ReadyFrame[]): void;
  /** A publish failed: the bus is down and resynchronises when it can. */
  wentDown(error: unknown): void;
}

/** Publishes this node's updates, or serves them provisionally while Redis is away. */
export class Publisher {
  private pendingTiles: Prepared[] = [];

  constructor(
    private readonly connections: RedisConnections,
    private readonly shown: Shown,
    private readonly context: PublisherContext,
  ) {}

  /** One batch of updates accepted here, in order. */
  async publishBatch(frames: readonly ReadyFrame[]): Promise<void> {
    const prepared = frames.map(prepare);
    if (this.connections.phase !== 'online') {
      this.context.emit(this.provisional(prepared));
      return;
    }
    const { tileHistory, nodeId } = this.context;
    const pipeline = this.connections.commands.pipeline();
    for (const item of prepared) queuePublish(pipeline, publishArgs(item, 'live', 0, 0, nodeId, tileHistory));
    let results: Array<[Error | null, unknown]> = [];
    let failure: unknown = null;
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      failure = error;
    }
    const out: ReadyFrame[] = [];
    const failed: Prepared[] = [];
    for (let i = 0; i < prepared.length; i++) {
      const item = prepared[i]!;
      const result = results[i];
      if (result === undefined || result[0] !== null) {
        failure ??= result?.[0] ?? new Error('no reply from redis');
        failed.push(item);
        continue;
      }
      const [seq] = replyOf(result);
      const frame = withSeq(item, seq, item.frame.origin);
      if (frame.kind === 'tile') this.shown.tiles.published(frame);
      else this.shown.keepIfNewer(frame, out);
    }
    // Tiles are delivered from their copy on the subscription, unless it is gone.
    if (this.connections.subscriber.status !== 'ready') out.push(...this.shown.tiles.flushAwaiting());
    if (failed.length > 0) {
      this.context.wentDown(failure);
      out.push(...this.provisional(failed));
    }
    this.context.emit(out);
  }

  /** Tiles accepted during the outage: the other nodes get them now, above every seq shown here. */
  async publishPendingTiles(): Promise<number> {
    const { tileHistory, nodeId } = this.context;
    const pipeline = this.connections.commands.pipeline();
    // The tile counter, like the cameras' (raised by their republishing), goes above every
    // seq this node's clients saw, provisional ones included, even if Redis lost it.
    queueRaise(pipeline, [[REDIS_NAMES.tileSeq, this.shown.tiles.lastSeq]]);
    for (const prepared of this.pendingTiles) queuePublish(pipeline, publishArgs(prepared, 'live', 0, DELIVERED_HERE, nodeId, tileHistory));
    const results = (await pipeline.exec()) ?? [];
    if (results[0]?.[0]) throw results[0][0];
    let sent = 0;
    for (let i = 0; i < this.pendingTiles.length; i++) {
      const result = results[i + 1];
      if (result === undefined || result[0] !== null) break;
      sent++;
    }
    // This node's clients had them already (provisional seqs); the others get them now.
    this.pendingTiles = this.pendingTiles.slice(sent);
    if (this.pendingTiles.length > 0) throw new Error(`${this.pendingTiles.length} tiles not published`);
    return sent;
  }

  /** Updates accepted while Redis cannot be reached: served here, published after the resync. */
  private provisional(prepared: readonly Prepared[]): ReadyFrame[] {
    const { latest, acceptedOffline, tiles } = this.shown;
    const out: ReadyFrame[] = [];
    for (const item of prepared) {
      if (item.frame.kind === 'tile') {
        out.push(tiles.admit(withSeq(item, tiles.nextProvisional(), item.frame.origin)));
        if (this.pendingTiles.length < MAX_PENDING_TILES) this.pendingTiles.push(item);
        else if (this.context.throttledLog.admit('pending-tiles-full') > 0) {
          this.context.log.warn({ max: MAX_PENDING_TILES }, 'too many tiles waiting for redis; further ones reach only the clients of this node');
        }
        continue;
      }
      const camera = item.frame.camera;
      const seq = (latest.get(camera)?.seq ?? 0) + 1;
      const frame = withSeq(item, seq, item.frame.origin);
      latest.set(camera, frame);
      acceptedOffline.set(camera, frame);
      out.push(frame);
    }
    return out;
  }
}
