// What the store stream (a long task in the worker pool) and the main thread say to each
// other over their MessagePort. Flow control is a shared counter, not messages: the main
// thread counts the batches it has taken, and the worker stops reading while too many are
// waiting, so a backfill can never pile up in memory.
import type { EncodedBatch } from '../protocol/ready-frame.js';
import type { Cursor, Rejected } from './reader.js';

export type StreamMessage =
  | { type: 'batch'; batch: EncodedBatch; rejected: Rejected[]; cursor: Cursor }
  /** The store cannot be read (first failure, then every few seconds while it lasts). */
  | { type: 'failed'; error: string }
  | { type: 'recovered' }
  /** A different file now sits at the store's path; reading continues after `cursor`; its new `epoch`. */
  | { type: 'replaced'; cursor: Cursor; epoch: string }
  /** Whether commits wake the stream (folder watched) or it polls. */
  | { type: 'watching'; watching: boolean };

export type StreamControl = { type: 'check' } | { type: 'stop' };

/** Batches a stream may have posted and not yet seen taken. */
export const MAX_BATCHES_IN_FLIGHT = 4;

/** Slot of the shared Int32Array counting batches the main thread has taken. */
export const TAKEN = 0;

export function createCredit(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}
