// Latest-value-wins throttling of one camera's stream (PROTOCOL.md section 6), as an RxJS
// operator: the first update after a quiet period goes out at once (leading edge); while the
// rate is exhausted only the newest update is kept, and it goes out as soon as a token is
// back (trailing edge); an update older than one already sent is dropped.
import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, asyncScheduler, type Subscription } from 'rxjs';
import { RateLimiter } from './rate-limiter.js';

export interface Sequenced {
  seq: number;
}

export interface CoalesceOptions {
  ratePerSecond: number;
  burst: number;
  scheduler?: SchedulerLike;
  /** Called with each update replaced by a newer one before it was sent. */
  onCoalesced?: (dropped: number) => void;
}

export function coalesceLatest<T extends Sequenced>(options: CoalesceOptions): MonoTypeOperatorFunction<T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<T>((subscriber) => {
      const bucket = new RateLimiter(options.ratePerSecond, options.burst, scheduler.now());
      let lastSeq = -Infinity;
      let pending: T | null = null;
      let timer: Subscription | null = null;

      const emit = (value: T) => {
        lastSeq = value.seq;
        subscriber.next(value);
      };

      const flushPending = () => {
        timer = null;
        if (pending === null) return;
        if (bucket.take(scheduler.now())) {
          const value = pending;
          pending = null;
          emit(value);
        } else {
          schedule();
        }
      };

      const schedule = () => {
        if (timer === null) timer = scheduler.schedule(flushPending, bucket.msUntilPass(scheduler.now()));
      };

      const subscription = source.subscribe({
        next(value) {
          if (value.seq <= lastSeq || (pending !== null && value.seq <= pending.seq)) return;
          if (pending === null && bucket.take(scheduler.now())) {
            emit(value);
            return;
          }
          if (pending !== null) options.onCoalesced?.(1);
          pending = value;
          schedule();
        },
        error(error) {
          subscriber.error(error);
        },
        complete() {
          // The newest state is never lost: it goes out when the rate allows, then we complete.
          if (pending === null) {
            subscriber.complete();
            return;
          }
          const finish = () => {
            if (pending !== null && !bucket.take(scheduler.now())) {
              timer = scheduler.schedule(finish, bucket.msUntilPass(scheduler.now()));
              return;
            }
            if (pending !== null) emit(pending);
            pending = null;
            subscriber.complete();
          };
          timer?.unsubscribe();
          timer = null;
          finish();
        },
      });

      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
