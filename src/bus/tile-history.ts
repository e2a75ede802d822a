// Where a node reads the map and the tile history from (docs/protocol.md section 9): one
// interface, two implementations, like the bus: the store (one node; src/store/
// tile-history.ts in the worker pool) and Redis (several nodes; redis/tile-history.ts).
import { framesOf, type ReadyFrame } from '../protocol/ready-frame.js';
import type { StorePool } from '../store/worker-pool.js';

/** One batch of tiles, in seq order, ready to write (all three frame formats). */
export interface TileBatch {
  frames: ReadyFrame[];
  /**
   * Read on from this seq: the last row or entry read, also one left out (invalid, or not
   * its coordinate's latest).
   */
  last: number;
  /** More may follow: the batch hit its `limit` (rows), read again after `last`. */
  more: boolean;
}

/**
 * Which tiles a read returns (docs/protocol.md section 9.3): `map`, the latest tile of each
 * coordinate (`tiles=map`); `since`, every tile in seq order (a resume, `tiles_since`).
 */
export type TileRead = 'map' | 'since';

/**
 * The tile history a node serves maps and resumes from (docs/protocol.md section 9): tile seqs
 * of one `epoch`, never reused within it. Reads go to the worker pool or to Redis, never
 * on the broadcast path.
 */
export interface TileHistory {
  /** Loads the epoch and horizon; resolves with the newest tile seq there is (0: none). */
  start(): Promise<number>;
  /** The sequence space tile seqs belong to (hello.epoch). */
  epoch(): string;
  /**
   * The lowest `tiles_since` from which every later tile is still kept: retention's pruned
   * maximum (store), or the seq before the oldest kept entry (Redis).
   */
  horizon(): Promise<number>;
  /**
   * At most `limit` tiles with a seq in (after, upTo], in seq order: each coordinate's
   * latest (`map`) or every one (`since`). Rejects when the history cannot be read.
   */
  read(kind: TileRead, after: number, upTo: number, limit: number): Promise<TileBatch>;
  /** The local store was replaced and has this new epoch (only where the store is the history). */
  replaced?(epoch: string): void;
  /** Closes what it opened. */
  stop?(): Promise<void>;
}

/**
 * The store's history (one node), read in the worker pool: the epoch is the store's
 * (`wirecam_meta`), the horizon the highest tile seq retention deleted.
 */
export class StoreTileHistory implements TileHistory {
  private currentEpoch = '';

  /** `cursor`: the store tail's tile cursor; tiles after it reach clients live. */
  constructor(
    private readonly pool: StorePool,
    private readonly cursor: () => number,
  ) {}

  /**
   * Loads the store's epoch and horizon; resolves with the store tail's tile cursor (tiles
   * above it still reach clients live). Rejects when the worker cannot read the store.
   */
  async start(): Promise<number> {
    const state = await this.pool.tileState();
    this.currentEpoch = state.epoch;
    return this.cursor();
  }

  /** The store's epoch ('' before `start`; a new one after `replaced`). */
  epoch(): string {
    return this.currentEpoch;
  }

  /**
   * The highest tile seq retention has deleted (0: none), read from the store (one small task
   * in the worker pool per map or resume): whichever process pruned, every process of the
   * service sees the same horizon. Rejects when the store cannot be read.
   */
  async horizon(): Promise<number> {
    return (await this.pool.tileState()).prunedThrough;
  }

  /** Another file sits at the store's path, with this new epoch (workers/store-stream.ts). */
  replaced(epoch: string): void {
    this.currentEpoch = epoch;
  }

  /**
   * One task in the worker pool (StorePool.tiles): at most `limit` rows with a seq in
   * (after, upTo]. Rejects when the store cannot be read.
   */
  async read(kind: TileRead, after: number, upTo: number, limit: number): Promise<TileBatch> {
    const result = await this.pool.tiles(kind, after, upTo, limit);
    return { frames: framesOf(result.batch, () => 0), last: result.last, more: result.more };
  }
}
