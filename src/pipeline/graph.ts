// The stream graph between the sources and the hub: merge every source, split by camera,
// coalesce and throttle each camera at the server's maximum rate, and share the result.
// Tiles are not coalesced (docs/protocol.md section 6): they pass in order.
//
// Each camera has a latest-wins gate (src/pipeline/latest-gate.ts) only while it owes
// something: once its trailing edge is delivered and its rate limiter is full again, the gate
// is released (src/pipeline/gate-table.ts). The next update of that camera gets a new gate,
// which passes it exactly as the old one would have (leading edge, full bucket). So the graph
// holds state for the cameras active within the last fill time (RateLimiter.fillMs: a
// quarter of a second at the defaults), not for every camera ever seen. The gates are kept in
// one map with one timer rather than as groupBy groups: RxJS removes a finished inner
// subscription from its parent by searching an array, so closing groups one by one costs time
// in proportion to the groups open, and a flood of cameras would stall the event loop.
import { merge, Observable, share, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { coalesceLatest } from './coalesce.js';

/** The rate of the stream graph and who hears what it does. */
export interface GraphOptions {
  /** Most camera states per second per camera (--max-hz). */
  maxHz: number;
  /** Token bucket size (--burst). */
  burst: number;
  /** Clock and timer; asyncScheduler by default (a TestScheduler in tests). */
  scheduler?: SchedulerLike;
  /** Called with 1 each time a camera state is replaced by a newer one before it went out. */
  onCoalesced?: (dropped: number) => void;
  /** Told how many cameras hold coalescing state (a gate) whenever one opens or is released. */
  onLanes?: (open: number) => void;
}

/**
 * Each batch's items, in order, as they arrive: what `mergeMap((batch) => batch)` does for
 * arrays, without an inner subscription per batch (the store tail emits one batch per commit,
 * so that machinery ran at every commit). Errors and completion pass through; once the
 * subscriber is closed, the rest of a batch is dropped.
 */
function flattenBatches<T>(): OperatorFunction<readonly T[], T> {
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (batch) => {
          for (let i = 0; i < batch.length && !subscriber.closed; i++) subscriber.next(batch[i]!);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}

/** Camera states are throttled per camera; tiles pass untouched, in order. */
const cameraKey = (frame: ReadyFrame): string | null => (frame.kind === 'tile' ? null : frame.camera);

/**
 * Merges `sources` (batches of frames, as the store tail or bus emits them), coalesces each
 * camera's states (docs/protocol.md section 6), passes tiles in order, and shares one subscription
 * among all subscribers. When every source completes, each camera's pending state is
 * delivered (when its rate allows) before completion; an error of any source is passed on.
 *
 * @throws RangeError on subscription when `maxHz` is not > 0 or `burst` not >= 1.
 */
export function buildGraph(sources: ReadonlyArray<Observable<readonly ReadyFrame[]>>, options: GraphOptions): Observable<ReadyFrame> {
  return merge(...sources).pipe(
    flattenBatches<ReadyFrame>(),
    coalesceLatest<ReadyFrame>({
      ratePerSecond: options.maxHz,
      burst: options.burst,
      scheduler: options.scheduler,
      keyOf: cameraKey,
      onCoalesced: options.onCoalesced,
      onGates: options.onLanes,
    }),
    share(),
  );
}
