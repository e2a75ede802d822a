// What the store stream (a long task in the worker pool) and the main thread say to each
// other over their MessagePort. Flow control is a shared counter, not messages: the main
// thread counts the batches it has taken, and the worker stops reading while too many are
// waiting, so a backfill can never pile up in memory.
import type { EncodedBatch } from '../protocol/ready-frame.js';
import type { Cursor, Rejected } from './reader.js';
import type { StoreReset } from './sequence-reset.js';
import type { WalOutcome } from './wal-bound.js';

/** From the store stream (worker) to the main thread, on the task's MessagePort. */
export type StreamMessage =
  /**
   * Rows read: valid ones validated and encoded (their buffer transferred, not copied), the
   * invalid rows skipped, and the cursor after both. Counts against MAX_BATCHES_IN_FLIGHT.
   */
  | { type: 'batch'; batch: EncodedBatch; rejected: Rejected[]; cursor: Cursor }
  /** The store cannot be read (first failure, then every few seconds while it lasts). */
  | { type: 'failed'; error: string }
  /** The store can be read again after `failed`. */
  | { type: 'recovered' }
  /**
   * The store's sequence space was reset (file replaced, sequence rolled back, newest rows
   * removed) and recovered from: reading continues after `reset.cursor` (sequence-reset.ts).
   */
  | { type: 'reset'; reset: StoreReset }
  /**
   * Whether commits wake the stream (folder watched) or it polls; `rewatched`: the watch
   * moved to another folder now at the store's path.
   */
  | { type: 'watching'; watching: boolean; rewatched: boolean }
  /** The WAL passed --wal-max-bytes and was emptied, or a reader pins it (sent on changes only). */
  | { type: 'wal'; outcome: Exclude<WalOutcome, { state: 'within' }> };

/**
 * From the main thread to the store stream: `check` looks at the store now (as a commit
 * would wake it); `stop` ends the stream, which closes its port and resolves its task.
 */
export type StreamControl = { type: 'check' } | { type: 'stop' };

/** Batches a stream may have posted and not yet seen taken; at this many it reads nothing more. */
export const MAX_BATCHES_IN_FLIGHT = 4;

/** Index, in the credit array (createCredit), of the count of batches the main thread has taken (Atomics.add after each). */
export const TAKEN = 0;

/**
 * A new credit for one stream: one Int32 on a SharedArrayBuffer (4 bytes), 0 batches taken,
 * shared with the worker through StreamTask.credit. Make a new one for each stream started.
 */
export function createCredit(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}
