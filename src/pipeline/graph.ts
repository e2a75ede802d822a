// The stream graph between the sources and the hub: merge every source, split by camera,
// coalesce and throttle each camera at the server's maximum rate, and share the result.
// Tiles are not coalesced (PROTOCOL.md section 6): they pass in order.
import { merge, mergeMap, groupBy, share, type Observable, type SchedulerLike } from 'rxjs';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { coalesceLatest } from './coalesce.js';

/** Not a valid camera id ('#' is outside the id alphabet), so it cannot collide with one. */
const TILES = '#tiles';

export interface GraphOptions {
  maxHz: number;
  burst: number;
  scheduler?: SchedulerLike;
  onCoalesced?: (dropped: number) => void;
}

export function buildGraph(sources: ReadonlyArray<Observable<readonly ReadyFrame[]>>, options: GraphOptions): Observable<ReadyFrame> {
  return merge(...sources).pipe(
    mergeMap((batch) => batch),
    groupBy((frame) => (frame.kind === 'tile' ? TILES : frame.camera)),
    mergeMap((group) =>
      group.key === TILES
        ? group
        : group.pipe(
            coalesceLatest<ReadyFrame>({
              ratePerSecond: options.maxHz,
              burst: options.burst,
              scheduler: options.scheduler,
              onCoalesced: options.onCoalesced,
            }),
          ),
    ),
    share(),
  );
}
