// Tiles published while this node was away from Redis (pub/sub keeps nothing): after an
// outage they are read back from the recent ones Redis keeps (scripts.ts `recentTiles`) and
// delivered in seq order, then those that arrived on the subscription meanwhile.
import type { Redis } from 'ioredis';
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import { DELIVERED_HERE, frameOfEnvelope, type Envelope } from './envelope.js';
import { REDIS_NAMES } from './scripts.js';
import type { TileSequencer } from './tile-sequencer.js';

/** Tracks the newest tile seen on the subscription and catches up on those missed. */
export class TileCatchUp {
  /** The newest tile seq received on the subscription (null: never joined); missed ones follow it. */
  private lastRedisTile: number | null = null;
  /** Tiles arriving while missed ones are read from Redis; delivered after them. */
  private arrivedDuringCatchUp: Array<{ frame: ReadyFrame; own: boolean }> | null = null;

  constructor(
    private readonly tiles: TileSequencer,
    private readonly nodeId: string,
    /** Decodes an envelope, or null for a malformed one (logged by the bus). */
    private readonly decode: (message: Buffer) => Envelope | null,
    /** Frames for this node's graph. */
    private readonly emit: (frames: ReadyFrame[]) => void,
  ) {}

  /** Joined Redis: tiles newer than Redis's tile counter `seq` are the ones to deliver. */
  joined(seq: number): void {
    this.lastRedisTile = seq;
  }

  /** A resync begins: tiles from the subscription wait until the catch-up has run. */
  begin(): void {
    this.arrivedDuringCatchUp = [];
  }

  /** A tile from the subscription (this node's own included). */
  arrived(frame: ReadyFrame, own: boolean): void {
    if (this.arrivedDuringCatchUp !== null) {
      this.arrivedDuringCatchUp.push({ frame, own });
      return;
    }
    this.received(frame.seq);
    const tile = this.tiles.fromSubscription(frame, own);
    if (tile !== null) this.emit([tile]);
  }

  /**
   * Reads the recent tiles Redis keeps on `commands`, delivers those this node missed, in
   * order, then those that arrived meanwhile. Returns how many were missed.
   */
  async catchUp(commands: Redis): Promise<number> {
    const recent = await commands.lrangeBuffer(REDIS_NAMES.recentTiles, 0, -1);
    // Never joined before (it started while Redis was away): nothing to catch up on.
    const after = this.lastRedisTile;
    const out: ReadyFrame[] = [];
    for (const message of recent) {
      const envelope = this.decode(message);
      if (envelope === null || envelope.kind !== 'tile') continue;
      this.received(envelope.seq);
      if (after === null || envelope.seq <= after) continue;
      const own = envelope.node === this.nodeId;
      // Own tiles sent after an outage were delivered here at the time.
      if (own && (envelope.flags & DELIVERED_HERE) !== 0) continue;
      const tile = this.tiles.fromSubscription(frameOfEnvelope(envelope, this.nodeId), own);
      if (tile !== null) out.push(tile);
    }
    const missed = out.length;
    this.emit(out);
    this.end();
    return missed;
  }

  /** Delivers the tiles that arrived during the catch-up, except those it delivered. */
  end(): void {
    const arrived = this.arrivedDuringCatchUp ?? [];
    this.arrivedDuringCatchUp = null;
    const out: ReadyFrame[] = [];
    for (const { frame, own } of arrived) {
      if (this.lastRedisTile !== null && frame.seq <= this.lastRedisTile) continue;
      this.received(frame.seq);
      const tile = this.tiles.fromSubscription(frame, own);
      if (tile !== null) out.push(tile);
    }
    this.tiles.settle();
    this.emit(out);
  }

  private received(seq: number): void {
    if (this.lastRedisTile === null || seq > this.lastRedisTile) this.lastRedisTile = seq;
  }
}
