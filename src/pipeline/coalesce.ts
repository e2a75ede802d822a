// Latest-value-wins throttling as an RxJS operator (docs/protocol.md section 6): the first update
// after a quiet period goes out at once (leading edge); while the rate is spent only the
// newest update is kept, and it goes out as soon as a token is back (trailing edge); an update
// not newer than one already accepted is dropped.
//
// The rule itself is LatestGate (src/pipeline/latest-gate.ts), one per key in a GateTable
// (src/pipeline/gate-table.ts), released when idle; this operator only gives the table a
// clock and one timer on an RxJS scheduler. The stream graph (src/pipeline/graph.ts) uses it
// with one key per camera; the audience groups (src/fanout/group.ts) use the same table with
// Node timers.
import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import { GateTable } from './gate-table.js';
import type { Sequenced } from './latest-gate.js';
import { Wakeup, schedulerTimer } from './wakeup.js';

export type { Sequenced } from './latest-gate.js';

/** The rate of coalesceLatest, its clock, and who hears what it does. */
export interface CoalesceOptions<T extends Sequenced = Sequenced> {
  /** Most updates per second passed on per key, on average (the rate of docs/protocol.md 6); > 0. */
  ratePerSecond: number;
  /** Token bucket size: updates of one key passed at once after a quiet period; >= 1. */
  burst: number;
  /** Clock and timer; asyncScheduler by default (a TestScheduler in tests). */
  scheduler?: SchedulerLike;
  /**
   * The key an update is throttled under (a camera), or null for an update that passes
   * untouched and in order (a tile, docs/protocol.md section 6). Default: one key for the stream,
   * whose order holds for the stream's whole life (the seq last sent is kept: one number).
   * With keys, a key's gate forgets its newest seq when released (see GateTable): the
   * source's seqs must only increase across a quiet period of that key.
   */
  keyOf?: (value: T) => string | null;
  /** Called with 1 each time an update is replaced by a newer one before it was sent. */
  onCoalesced?: (dropped: number) => void;
  /** Told how many keys hold a gate (throttling state) whenever one opens or is released. */
  onGates?: (open: number) => void;
  /**
   * Called each time a key's gate owes nothing any more and is released: nothing waits and
   * its rate limiter has had RateLimiter.fillMs (scheduler time) since its last pass.
   */
  onIdle?: () => void;
}

const SINGLE_KEY = (): string => '';

/**
 * Latest-value-wins throttling of a stream of sequenced updates, per key (see the module
 * comment and LatestGate). When the source completes, every key's waiting update still goes
 * out when its rate allows, then the output completes; an error is passed on at once (what
 * waits is dropped); unsubscribing cancels the one timer.
 *
 * @throws RangeError on subscription when `ratePerSecond` is not > 0 or `burst` not >= 1.
 */
export function coalesceLatest<T extends Sequenced>(options: CoalesceOptions<T>): MonoTypeOperatorFunction<T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const keyOf = options.keyOf ?? SINGLE_KEY;
  return (source) =>
    new Observable<T>((subscriber) => {
      let done = false;
      /** One stream (no keyOf): the seq last sent, which a released gate would forget. */
      let lastSent = -Infinity;
      const single = options.keyOf === undefined;
      const table = new GateTable<string, T>({
        ratePerSecond: options.ratePerSecond,
        burst: options.burst,
        emit: single
          ? (value) => {
              lastSent = value.seq;
              subscriber.next(value);
            }
          : (value) => subscriber.next(value),
        onCoalesced: options.onCoalesced,
        onGates: options.onGates,
        onReleased: options.onIdle,
        floorOf: single ? () => lastSent : undefined,
      });
      const now = () => scheduler.now();
      const wakeup = new Wakeup(now, schedulerTimer(scheduler), () => {
        wakeup.arm(table.release(now()));
        if (done && table.waitingCount === 0) subscriber.complete();
      });
      const subscription = source.subscribe({
        next: (value) => {
          const key = keyOf(value);
          if (key === null) subscriber.next(value);
          else wakeup.arm(table.offer(key, value, now()));
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          done = true;
          if (table.waitingCount === 0) subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        wakeup.disarm();
        table.clear();
      };
    });
}
