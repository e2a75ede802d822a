// Tiles are not coalesced: each goes to every client, in order (docs/protocol.md section 6). With
// several nodes their seqs come from one Redis counter and Redis publishes them in that
// order on the subscription. The script's reply to this node comes on another connection,
// so it may arrive before or after other nodes' earlier tiles: this node therefore delivers
// its own tiles from their copy on the subscription, in Redis's order, like everyone
// else's. Only when the subscription is gone are the tiles still waiting for their copy
// delivered from the reply.
//
// After a Redis outage the nodes numbered their tiles independently (provisional seqs), so
// a tile may come with a seq this node has already shown; it is then renumbered just above,
// for this node's clients only (tiles have no snapshot that nodes must agree on).
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import { withSeq } from './seq-template.js';

/**
 * The tiles of one node's graph, in the order it delivers them (see the file's comment): what
 * a method returns is to be delivered now, each tile with a seq above every one before.
 * Holds this node's published tiles until their copy comes back on the subscription; all of
 * them are delivered and released when the subscription goes (`flushAwaiting`).
 */
export class TileSequencer {
  private last = 0;
  /** This node's tiles, published, whose copy has not come back on the subscription yet. */
  private readonly awaiting = new Map<number, ReadyFrame>();
  /** Copies that came back before the script's reply. */
  private readonly early = new Set<number>();
  /** Delivered from the reply because the subscription was gone: their copy is a repeat. */
  private readonly deliveredFromReply = new Set<number>();
  /** Tiles renumbered because they came below a seq already shown (a count; tests read it). */
  renumbered = 0;

  /** The newest tile seq delivered by this node. */
  get lastSeq(): number {
    return this.last;
  }

  /** The seq for a tile accepted while Redis cannot be reached. */
  nextProvisional(): number {
    return this.last + 1;
  }

  /**
   * A tile from the subscription (or read back from Redis), this node's own included: the
   * tile to deliver (renumbered if needed), or null for a copy of one already delivered
   * from the reply.
   */
  fromSubscription(tile: ReadyFrame, own: boolean): ReadyFrame | null {
    if (own) {
      if (this.deliveredFromReply.delete(tile.seq)) return null;
      if (!this.awaiting.delete(tile.seq)) this.early.add(tile.seq);
    }
    return this.admit(tile);
  }

  /** The script's reply for one of this node's tiles: it is delivered when its copy comes. */
  published(tile: ReadyFrame): void {
    if (!this.early.delete(tile.seq)) this.awaiting.set(tile.seq, tile);
  }

  /** The subscription is gone: copies still on their way will not come, so deliver now. */
  flushAwaiting(): ReadyFrame[] {
    const tiles = [...this.awaiting.values()].sort((a, b) => a.seq - b.seq);
    this.awaiting.clear();
    this.early.clear();
    for (const tile of tiles) this.deliveredFromReply.add(tile.seq);
    return tiles.map((tile) => this.admit(tile));
  }

  /** After a catch-up on the tiles Redis keeps: no copy still expected is coming. */
  settle(): void {
    this.early.clear();
    this.deliveredFromReply.clear();
  }

  /**
   * A tile delivered here; renumbered if its seq is not above the last one shown (its frames
   * rewritten from their seq template, seq-template.ts: no encoding).
   */
  admit(tile: ReadyFrame): ReadyFrame {
    if (tile.seq > this.last) {
      this.last = tile.seq;
      return tile;
    }
    this.renumbered++;
    const seq = ++this.last;
    return withSeq(tile, seq);
  }
}
