// The one place where "the store's sequence space was reset" is decided and acted upon.
// A store restored in place (rows deleted and sqlite_sequence lowered, an SQLite `.restore`
// of an earlier backup) or replaced by another file would hand out again seqs that clients
// already saw, with other states, and leave the tail's cursor ahead of every new row.
// detectStoreReset() decides it (the store tail calls it at every data_version change);
// resetSequenceSpace() recovers, in one transaction: ids continue above every seq already
// sent (sequences.ts), and each camera's latest state in the store is recorded again as a
// new row, so that clients get the store's states with seqs that still only increase
// (docs/protocol.md 6.1), and the store gets a new epoch (meta.ts), so that clients resuming
// with the old one rebuild their map (docs/protocol.md 9).
import type { Db } from './open.js';
import type { Cursor, StorePositions, StoreReader } from './reader.js';
import { newEpoch } from './meta.js';
import { raiseSequences } from './sequences.js';
import type { StoreWriter } from './writer.js';

/**
 * Why the sequence space is considered reset:
 * - `file_replaced`: another file sits at the path (another identity, identity.ts; a file back after
 *   the store was missing is another file too);
 * - `sequence_rolled_back`: an AUTOINCREMENT counter (sqlite_sequence) is below a seq
 *   already sent, so ids already sent would be handed out again;
 * - `rows_removed`: the newest camera row is older than the newest one seen before (rows
 *   deleted from the top, sqlite_sequence untouched): the store no longer has states
 *   clients were sent. Retention never does this: it keeps each camera's latest row.
 */
export type StoreResetCause = 'file_replaced' | 'sequence_rolled_back' | 'rows_removed';

/** A reset as detected and recovered from in the worker, reported to the main thread. */
export interface StoreReset {
  cause: StoreResetCause;
  /** One line naming the evidence, e.g. "sqlite_sequence camera_updates 120 < seq 250 already sent". */
  detail: string;
  /** Reading continues after this (the highest seqs sent, or the store's newest rows if higher). */
  cursor: Cursor;
  /** Cameras whose latest valid state the store holds (each re-recorded above `cursor`). */
  cameras: string[];
  /** When it was detected, ms since the Unix epoch. */
  at: number;
  /** The store's new epoch (docs/protocol.md section 9), written in the same transaction. */
  epoch: string;
}

/**
 * Decides whether the store's sequence space was reset since the tail last read it.
 * `cursor`: the highest ids read (and so sent) per table; `positions`: the store now;
 * `previousNewest`: the store's newest ids at the previous look (null: none yet);
 * `replaced`: the file at the path is another one than at the previous look.
 * Returns the cause and a one-line detail, or null when nothing was reset.
 */
export function detectStoreReset(
  cursor: Cursor,
  positions: StorePositions,
  previousNewest: Cursor | null,
  replaced: boolean,
): { cause: StoreResetCause; detail: string } | null {
  if (replaced) return { cause: 'file_replaced', detail: 'another file now sits at the path' };
  const below = sequencesBelow(positions.sequence, cursor);
  if (below !== null) return { cause: 'sequence_rolled_back', detail: below };
  if (previousNewest !== null && positions.newest.camera < previousNewest.camera) {
    return {
      cause: 'rows_removed',
      detail: `newest camera_updates id went from ${previousNewest.camera} to ${positions.newest.camera}`,
    };
  }
  return null;
}

/**
 * Which AUTOINCREMENT counter is below `floor` (the highest seqs sent), as one line, or
 * null. A write with such a counter would reuse a seq (SQLite doc: autoinc.html).
 */
export function sequencesBelow(sequence: Cursor, floor: Cursor): string | null {
  if (sequence.camera < floor.camera) return `sqlite_sequence camera_updates ${sequence.camera} < seq ${floor.camera} already sent`;
  if (sequence.tile < floor.tile) return `sqlite_sequence tile_updates ${sequence.tile} < seq ${floor.tile} already sent`;
  return null;
}

/**
 * A producer write found the store's AUTOINCREMENT counters below the seqs already sent:
 * the store was restored or replaced and the store tail has not recovered yet. Nothing was
 * written; the write is retried (it succeeds once the tail has raised the counters).
 */
export class SequenceResetPendingError extends Error {
  constructor(detail: string) {
    super(`store sequence space was reset (${detail}); the write waits for the recovery`);
    this.name = 'SequenceResetPendingError';
  }
}

/**
 * Recovers from a reset, in one transaction on `db` (a read-write connection; waits for
 * another process's lock up to its busy timeout, then throws SQLITE_BUSY and changes
 * nothing): sqlite_sequence is raised to the highest seqs sent (`cursor`) or the store's
 * newest ids if higher, then each camera's latest valid state is inserted again as a new
 * row, with the ts it had. Returns the cursor after which reading continues (the
 * re-recorded rows come right after it) and the cameras re-recorded.
 */
export function resetSequenceSpace(
  db: Db,
  reader: StoreReader,
  writer: StoreWriter,
  cursor: Cursor,
  found: { cause: StoreResetCause; detail: string },
  now: number,
): StoreReset {
  return db.transaction((): StoreReset => {
    const { newest } = reader.positions();
    const floor = { camera: Math.max(cursor.camera, newest.camera), tile: Math.max(cursor.tile, newest.tile) };
    raiseSequences(db, floor);
    const { cameras } = reader.snapshot();
    writer.insert(cameras.map(({ value }) => ({ kind: 'camera' as const, value })));
    const epoch = newEpoch(db);
    return { ...found, cursor: floor, cameras: cameras.map(({ value }) => value.camera), at: now, epoch };
  }).immediate();
}

const CAUSE_TEXT: Readonly<Record<StoreResetCause, string>> = {
  file_replaced: 'file replaced',
  sequence_rolled_back: 'sequence rolled back',
  rows_removed: 'newest rows removed',
};

/** One line for /healthz: what happened, when (ISO 8601), and how reading continues. */
export function describeStoreReset(reset: StoreReset): string {
  return `${CAUSE_TEXT[reset.cause]} (${reset.detail}) at ${new Date(reset.at).toISOString()}; ids continue above camera ${reset.cursor.camera}, tile ${reset.cursor.tile}; ${reset.cameras.length} camera state(s) re-recorded`;
}
