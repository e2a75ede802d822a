// The stream graph between the sources and the hub: merge every source, split by camera,
// coalesce and throttle each camera at the server's maximum rate, and share the result.
// Tiles are not coalesced (PROTOCOL.md section 6): they pass in order.
//
// Each camera has a lane (src/pipeline/coalesce.ts) only while it owes something: once its
// trailing edge is delivered and its rate limiter is full again, the lane is dropped. The
// next update of that camera gets a new lane, which passes it exactly as the old one would
// have (leading edge, full bucket). So the graph holds state for the cameras active within
// the last fill time (RateLimiter.fillMs: a quarter of a second at the defaults), not for
// every camera ever seen. The lanes are kept in one map rather than as groupBy groups: RxJS
// removes a finished inner subscription from its parent by searching an array, so closing
// groups one by one costs time in proportion to the groups open, and a flood of cameras
// would stall the event loop.
import { merge, mergeMap, share, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { CoalescingLane, type CoalesceOptions } from './coalesce.js';

export interface GraphOptions {
  /** Most camera states per second per camera (--max-hz). */
  maxHz: number;
  /** Token bucket size (--burst). */
  burst: number;
  scheduler?: SchedulerLike;
  onCoalesced?: (dropped: number) => void;
  /** Told how many cameras hold coalescing state (lanes) whenever a lane opens or is released. */
  onLanes?: (open: number) => void;
}

/**
 * Merges `sources`, coalesces each camera's states (PROTOCOL.md section 6), passes tiles in
 * order, and shares one subscription among all subscribers. When every source completes,
 * each camera's pending state is delivered (when its rate allows) before completion.
 */
export function buildGraph(sources: ReadonlyArray<Observable<readonly ReadyFrame[]>>, options: GraphOptions): Observable<ReadyFrame> {
  return merge(...sources).pipe(
    mergeMap((batch) => batch),
    coalescePerCamera(
      { ratePerSecond: options.maxHz, burst: options.burst, scheduler: options.scheduler, onCoalesced: options.onCoalesced },
      options.onLanes,
    ),
    share(),
  );
}

/** Camera states coalesced per camera, one lane each while it owes something; tiles pass. */
function coalescePerCamera(options: CoalesceOptions, onLanes?: (open: number) => void): OperatorFunction<ReadyFrame, ReadyFrame> {
  return (source) =>
    new Observable<ReadyFrame>((subscriber) => {
      const lanes = new Map<string, CoalescingLane<ReadyFrame>>();
      const emit = (frame: ReadyFrame) => subscriber.next(frame);
      const laneOf = (camera: string): CoalescingLane<ReadyFrame> => {
        let lane = lanes.get(camera);
        if (lane === undefined) {
          const created = new CoalescingLane<ReadyFrame>(options, emit, () => {
            created.dispose();
            lanes.delete(camera);
            onLanes?.(lanes.size);
          });
          lanes.set(camera, (lane = created));
          onLanes?.(lanes.size);
        }
        return lane;
      };
      const subscription = source.subscribe({
        next: (frame) => {
          if (frame.kind === 'tile') subscriber.next(frame);
          else laneOf(frame.camera).next(frame);
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          let open = lanes.size;
          if (open === 0) subscriber.complete();
          for (const lane of lanes.values()) lane.complete(() => --open === 0 && subscriber.complete());
        },
      });
      return () => {
        subscription.unsubscribe();
        for (const lane of lanes.values()) lane.dispose();
        lanes.clear();
      };
    });
}
