// One timer that calls its work at the earliest time asked for: what a pure GateTable needs
// from its owner (it says when it wants to be asked again; this keeps that appointment).
// The timer itself is injected, so the same code runs on an RxJS scheduler (virtual time in
// tests) and on Node's setTimeout (the hub).
import type { SchedulerLike } from 'rxjs';

/** Starts a timer calling `work` after `delayMs` (ms, >= 0); returns what cancels it. */
export type ScheduleTimer = (work: () => void, delayMs: number) => () => void;

/**
 * Calls `work` once at the earliest time passed to `arm` since it last ran. Arming for a
 * later time than the one set changes nothing (no timer is touched): a steady stream of
 * updates costs a timer only when an earlier appointment is needed.
 */
export class Wakeup {
  private cancelTimer: (() => void) | null = null;
  private at = Infinity;

  /** `now`: the clock (ms) of `arm`'s times; `schedule`: the timer. */
  constructor(
    private readonly now: () => number,
    private readonly schedule: ScheduleTimer,
    private readonly work: () => void,
  ) {}

  /** Asks for `work` at `at` (ms on the `now` clock), unless already asked for no later; Infinity asks nothing. */
  arm(at: number): void {
    if (at >= this.at) return;
    this.cancelTimer?.();
    this.at = at;
    this.cancelTimer = this.schedule(this.fire, Math.max(0, at - this.now()));
  }

  /** Cancels the pending call, if any. */
  disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.at = Infinity;
  }

  private readonly fire = (): void => {
    this.cancelTimer = null;
    this.at = Infinity;
    this.work();
  };
}

/** A ScheduleTimer on an RxJS scheduler (asyncScheduler in service, a TestScheduler in tests). */
export function schedulerTimer(scheduler: SchedulerLike): ScheduleTimer {
  return (work, delayMs) => {
    const action = scheduler.schedule(work, delayMs);
    return () => action.unsubscribe();
  };
}

/** A ScheduleTimer on Node's setTimeout (faked by tests that fake it). */
export const nodeTimer: ScheduleTimer = (work, delayMs) => {
  const timer = setTimeout(work, delayMs);
  return () => clearTimeout(timer);
};
