// The map and resume for one client at a time (docs/protocol.md section 9): before a client's
// broadcast starts, the tiles it asked for (the map, or every tile after its resume point)
// are read in batches from the tile history (never on the main thread) and written to it,
// waiting for its socket to drain between batches. Live tiles published meanwhile are held
// for it, bounded, and written after the map, in seq order, skipping any its audience group
// is about to deliver anyway: nothing lost, duplicated or reordered. Other clients never
// wait for this: each batch is one asynchronous read and one write.
import type { ReadyFrame } from '../protocol/ready-frame.js';
import type { TileRequest } from '../protocol/negotiate.js';
import type { TileHistory, TileRead } from '../bus/tile-history.js';
import type { FanoutClient } from './client.js';
import type { Hub } from './hub.js';

/** What a client gets of the map, decided at its handshake. */
export interface TilePlan {
  /** hello.recovered: the resume point was honoured. */
  recovered: boolean;
  /** What to read before the broadcast starts, or null (nothing: live only, or no tiles). */
  read: { kind: TileRead; after: number } | null;
}

/** The tile history as a plan sees it (docs/protocol.md section 9.1, `hello` fields). */
export interface TileFacts {
  /** The current epoch of the tile sequence space (hello.epoch). */
  epoch: string;
  /** The newest tile seq published (hello.tile_seq). */
  tileSeq: number;
  /** The lowest `tiles_since` still recoverable (TileHistory.horizon). */
  horizon: number;
}

/**
 * docs/protocol.md section 9: a resume is honoured when its epoch is the current one and no tile
 * after its seq has been pruned (and the seq is not from the future, which only a reset
 * sequence space can explain); otherwise the client gets what `tiles` asks for, as on a first
 * connection. `tiles=none` gets no tiles, and so never `recovered: true`.
 */
export function planTiles(request: TileRequest, facts: TileFacts): TilePlan {
  const resume = request.resume;
  if (request.tiles !== 'none' && resume !== null && resume.epoch === facts.epoch && resume.since >= facts.horizon && resume.since <= facts.tileSeq) {
    return { recovered: true, read: resume.since < facts.tileSeq ? { kind: 'since', after: resume.since } : null };
  }
  return { recovered: false, read: request.tiles === 'map' ? { kind: 'map', after: 0 } : null };
}

/** Bounds of one client's map delivery (docs/protocol.md section 9.4). */
export interface MapDeliveryOptions {
  /** Tiles read per batch, in rows (--batch-rows); one socket write each. */
  batchRows: number;
  /** Live tiles held for one client while its map is sent (--map-held-tiles); past this it is closed with 4000. */
  maxHeld: number;
}

/** What the edge does at each step of a map delivery (src/server/edge.ts `mapEvents`). */
export interface MapDeliveryEvents {
  /** The plan is known: write hello now (before any tile). */
  planned(client: FanoutClient, plan: TilePlan, tileSeq: number): void;
  /** The map could not be sent (history unreadable, too many live tiles held): close the client. */
  failed(client: FanoutClient, reason: string, error?: unknown): void;
  /** The map was sent: `tiles` written, `ms` since `deliver` began (the handshake). */
  delivered(client: FanoutClient, tiles: number, ms: number): void;
}

/** One client's map in progress: the live tiles held for it. */
interface InProgress {
  client: FanoutClient;
  held: ReadyFrame[];
  overflowed: boolean;
}

/**
 * Every client's map or resume in progress (see the module comment), and the newest tile seq
 * published (hello.tile_seq). The node passes it every frame (`observe`) before the hub.
 */
export class MapDeliveries {
  private newest: number;
  private readonly active = new Set<InProgress>();

  constructor(
    private readonly hub: Hub,
    private readonly history: TileHistory,
    private readonly options: MapDeliveryOptions,
    private readonly events: MapDeliveryEvents,
    /** The newest tile seq at start (the history's, before any live tile). */
    newestAtStart: number,
  ) {
    this.newest = newestAtStart;
  }

  /** The newest tile seq published (hello.tile_seq). */
  get tileSeq(): number {
    return this.newest;
  }

  /** Sees every frame before the hub does: tiles are held for clients whose map is being sent. */
  observe(frame: ReadyFrame): void {
    if (frame.kind !== 'tile') return;
    if (frame.seq > this.newest) this.newest = frame.seq;
    for (const entry of this.active) {
      if (entry.overflowed) continue;
      if (entry.held.length >= this.options.maxHeld) {
        entry.overflowed = true;
        continue;
      }
      entry.held.push(frame);
    }
  }

  /** Tiles up to `seq` exist that were never published (a replaced store was read from after them). */
  raise(seq: number): void {
    if (seq > this.newest) this.newest = seq;
  }

  /**
   * Sends `client` (registered with the hub, not entered) the tiles `request` asks for, then
   * enters it into the broadcast. Resolves when done or given up (never rejects).
   */
  async deliver(client: FanoutClient, request: TileRequest, facts: () => { epoch: string }): Promise<void> {
    const started = Date.now();
    const entry: InProgress = { client, held: [], overflowed: false };
    // From here on, every live tile is either covered by the read below (seq <= upTo) or held.
    const upTo = this.newest;
    this.active.add(entry);
    try {
      const horizon = await this.history.horizon();
      const plan = planTiles(request, { epoch: facts().epoch, tileSeq: upTo, horizon });
      if (client.isEnded) return;
      this.events.planned(client, plan, upTo);
      let written = 0;
      if (plan.read !== null) {
        let after = plan.read.after;
        for (;;) {
          const batch = await this.history.read(plan.read.kind, after, upTo, this.options.batchRows);
          if (client.isEnded) return;
          if (entry.overflowed) {
            this.events.failed(client, `more than ${this.options.maxHeld} live tiles arrived while the map was sent`);
            return;
          }
          written += writeFrames(client, batch.frames);
          after = batch.last;
          if (!batch.more) break;
          await drained(client);
          if (client.isEnded) return;
        }
      }
      if (entry.overflowed) {
        this.events.failed(client, `more than ${this.options.maxHeld} live tiles arrived while the map was sent`);
        return;
      }
      this.enter(entry, upTo);
      this.events.delivered(client, written, Date.now() - started);
    } catch (error) {
      if (!client.isEnded) this.events.failed(client, 'the map could not be read', error);
    } finally {
      this.active.delete(entry);
    }
  }

  /**
   * Starts the broadcast (snapshot first), then writes the held live tiles the group will
   * not deliver itself: those published before this turn's flush are due in the group and
   * go out with it, after these, in seq order.
   */
  private enter(entry: InProgress, upTo: number): void {
    const { client } = entry;
    this.hub.enter(client);
    const due = new Set<number>();
    for (const frame of client.group?.dueFrames ?? []) if (frame.kind === 'tile') due.add(frame.seq);
    const release = entry.held.filter((frame) => frame.seq > upTo && !due.has(frame.seq) && frame.origin !== client.id);
    if (client.subscription.tiles !== false) writeFrames(client, release);
    entry.held = [];
  }
}

/**
 * The frames in the client's format, as one message write through the client's own writer
 * (queued behind what it is owed, bounded by its backlog limit). Returns how many.
 */
function writeFrames(client: FanoutClient, frames: readonly ReadyFrame[]): number {
  if (frames.length === 0) return 0;
  const format = client.encoding;
  client.send(frames.length === 1 ? frames[0]![format] : Buffer.concat(frames.map((frame) => frame[format])), true);
  return frames.length;
}

/**
 * Resolves once the client has caught up (its socket took everything it was owed) or has
 * ended. Looks every 10 ms: the client's own 'drain' listener writes its backlog, and a map
 * is sent rarely enough that polling costs nothing worth a listener per wait.
 */
async function drained(client: FanoutClient): Promise<void> {
  while (!client.isEnded && !client.caughtUp && !client.transport.destroyed) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
