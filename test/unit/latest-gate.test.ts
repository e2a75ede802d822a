// The pure latest-wins gate (src/pipeline/latest-gate.ts), its keyed container
// (src/pipeline/gate-table.ts) and the one timer that keeps their appointments
// (src/pipeline/wakeup.ts), with a fake clock: time is a number passed to each call.
import { describe, expect, it } from 'vitest';
import { LatestGate } from '../../src/pipeline/latest-gate.js';
import { GateTable } from '../../src/pipeline/gate-table.js';
import { Wakeup, type ScheduleTimer } from '../../src/pipeline/wakeup.js';

interface Update {
  seq: number;
}
const u = (seq: number): Update => ({ seq });

/** 10 Hz: a held update's token is back 91 ms after the short bucket was emptied (10% allowance). */
const TRAIL = Math.ceil(1000 / (10 * 1.1));
/** 10 Hz, burst 1: the sustained bucket (3 updates, refilled at 10/s) is full 300 ms after a pass. */
const FILL = 300;

describe('LatestGate', () => {
  it('passes the first update at once, holds the next, replaces it with a newer one, releases the newest on the token', () => {
    const gate = new LatestGate<Update>({ ratePerSecond: 10, burst: 1 }, 0);
    expect(gate.offer(u(1), 0)).toBe('pass');
    expect(gate.offer(u(2), 10)).toBe('held');
    expect(gate.offer(u(3), 20)).toBe('replaced');
    expect(gate.pending).toEqual(u(3));
    expect(gate.wakeAt(20)).toBe(TRAIL);
    expect(gate.release(TRAIL - 1)).toBeNull(); // asked early: not yet, nothing changes
    expect(gate.pending).toEqual(u(3));
    expect(gate.release(TRAIL)).toEqual(u(3));
    expect(gate.pending).toBeNull();
    expect(gate.release(TRAIL + 500)).toBeNull(); // nothing waits
  });

  it('drops an update not newer than the newest accepted, sent or waiting (rule 1)', () => {
    const gate = new LatestGate<Update>({ ratePerSecond: 10, burst: 1 }, 0);
    expect(gate.offer(u(5), 0)).toBe('pass');
    expect(gate.offer(u(5), 1000)).toBe('stale');
    expect(gate.offer(u(4), 1000)).toBe('stale');
    expect(gate.offer(u(6), 1000)).toBe('pass');
    expect(gate.offer(u(8), 1001)).toBe('held');
    expect(gate.offer(u(7), 1002)).toBe('stale');
    expect(gate.pending).toEqual(u(8));
  });

  it('passes `burst` updates at once after a quiet period', () => {
    const gate = new LatestGate<Update>({ ratePerSecond: 10, burst: 3 }, 0);
    expect([1, 2, 3, 4].map((seq) => gate.offer(u(seq), 5_000))).toEqual(['pass', 'pass', 'pass', 'held']);
  });

  it('is idle a fill time after its last pass with nothing waiting, and wants to be asked then', () => {
    const gate = new LatestGate<Update>({ ratePerSecond: 10, burst: 1 }, 0);
    gate.offer(u(1), 0);
    expect(gate.wakeAt(0)).toBe(FILL);
    expect(gate.isIdle(FILL - 1)).toBe(false);
    expect(gate.isIdle(FILL)).toBe(true);
    gate.offer(u(2), FILL + 50);
    expect(gate.isIdle(FILL + 50)).toBe(false);
    gate.offer(u(3), FILL + 51); // waits: never idle while an update waits
    expect(gate.isIdle(10_000)).toBe(false);
    expect(gate.release(10_000)).toEqual(u(3));
    expect(gate.idleAt).toBe(10_000 + FILL);
  });

  it('rejects a rate or burst that cannot work', () => {
    expect(() => new LatestGate({ ratePerSecond: 0, burst: 1 }, 0)).toThrow(RangeError);
    expect(() => new LatestGate({ ratePerSecond: 10, burst: 0 }, 0)).toThrow(RangeError);
  });
});

interface Frame {
  camera: string;
  seq: number;
}

function table(options: { burst?: number; floorOf?: (key: string) => number } = {}) {
  const sent: Array<[number, string, number]> = [];
  const open: number[] = [];
  const released: string[] = [];
  let now = 0;
  let coalesced = 0;
  const gates = new GateTable<string, Frame>({
    ratePerSecond: 10,
    burst: options.burst ?? 1,
    emit: (frame) => sent.push([now, frame.camera, frame.seq]),
    onCoalesced: (count) => (coalesced += count),
    onGates: (count) => open.push(count),
    onReleased: (key) => released.push(key),
    floorOf: options.floorOf,
  });
  return {
    gates,
    sent,
    open,
    released,
    coalesced: () => coalesced,
    offer(at: number, camera: string, seq: number): number {
      now = at;
      return gates.offer(camera, { camera, seq }, at);
    },
    release(at: number): number {
      now = at;
      return gates.release(at);
    },
  };
}

describe('GateTable', () => {
  it('throttles each key on its own and says when it wants to be asked again', () => {
    const t = table();
    expect(t.offer(0, 'A', 1)).toBe(FILL); // passed: next appointment is A's release
    expect(t.offer(1, 'A', 2)).toBe(TRAIL); // held: A's token
    expect(t.offer(2, 'A', 3)).toBe(Infinity); // replaced: the appointment stands
    expect(t.offer(3, 'B', 4)).toBe(3 + FILL); // B has its own gate: passes at once
    expect(t.sent).toEqual([
      [0, 'A', 1],
      [3, 'B', 4],
    ]);
    expect(t.coalesced()).toBe(1);
    expect(t.gates.holds('A')).toBe(true);
    expect(t.gates.holds('B')).toBe(false);
    expect(t.release(TRAIL)).toBe(3 + FILL); // A's trailing edge out; next: B's release
    expect(t.sent.at(-1)).toEqual([TRAIL, 'A', 3]);
    expect(t.gates.holds('A')).toBe(false);
  });

  it('releases gates once idle, least recently passed first, and reports the count', () => {
    const t = table();
    t.offer(0, 'A', 1);
    t.offer(10, 'B', 2);
    t.offer(20, 'A', 3); // A waits for a token
    expect(t.release(FILL)).toBe(10 + FILL); // A's trailing edge (its token was back long ago); next: B's release
    expect(t.sent.at(-1)).toEqual([FILL, 'A', 3]);
    expect(t.release(10 + FILL)).toBe(FILL + FILL); // B released; A passed at FILL
    expect(t.released).toEqual(['B']);
    expect([...t.gates.keys()]).toEqual(['A']);
    expect(t.release(2 * FILL)).toBe(Infinity);
    expect(t.released).toEqual(['B', 'A']);
    expect(t.open).toEqual([1, 2, 1, 0]);
  });

  it('gives a key seen again after its release a new gate that passes at once (leading edge)', () => {
    const t = table();
    t.offer(0, 'A', 1);
    t.release(FILL);
    expect(t.gates.size).toBe(0);
    t.offer(FILL + 1, 'A', 2);
    expect(t.sent.at(-1)).toEqual([FILL + 1, 'A', 2]);
  });

  it('forgets a released key\'s newest seq unless the owner gives a floor', () => {
    const forgetful = table();
    forgetful.offer(0, 'A', 5);
    forgetful.release(FILL);
    forgetful.offer(FILL + 1, 'A', 4);
    expect(forgetful.sent.map(([, , seq]) => seq)).toEqual([5, 4]);

    const floors = new Map<string, number>();
    const kept = table({ floorOf: (key) => floors.get(key) ?? -Infinity });
    kept.offer(0, 'A', 5);
    floors.set('A', 5); // what the owner knows was sent
    kept.release(FILL);
    expect(kept.offer(FILL + 1, 'A', 4)).toBe(Infinity);
    expect(kept.gates.size).toBe(0); // a stale update opens no gate
    kept.offer(FILL + 2, 'A', 6);
    expect(kept.sent.map(([, , seq]) => seq)).toEqual([5, 6]);
  });

  it('asked too early changes nothing and asks again at the right time', () => {
    const t = table();
    t.offer(0, 'A', 1);
    t.offer(1, 'A', 2);
    expect(t.release(50)).toBe(TRAIL);
    expect(t.sent).toHaveLength(1);
    expect(t.release(TRAIL)).toBe(TRAIL + FILL);
    expect(t.sent.at(-1)).toEqual([TRAIL, 'A', 2]);
  });

  it('holds one gate per key active in the last fill time: 10,000 keys once each leave none', () => {
    const t = table();
    for (let i = 0; i < 10_000; i++) t.offer(Math.floor(i / 100), `cam-${i}`, i + 1); // 100 per ms
    expect(t.gates.size).toBe(10_000);
    expect(t.sent).toHaveLength(10_000);
    expect(t.release(FILL + 50)).toBe(FILL + 51); // those of ms 0..50 released; next: ms 51's
    expect(t.gates.size).toBe(4_900);
    expect(t.release(FILL + 99)).toBe(Infinity);
    expect(t.gates.size).toBe(0);
  });

  it('clear() drops every gate and waiting update', () => {
    const t = table();
    t.offer(0, 'A', 1);
    t.offer(1, 'A', 2);
    t.gates.clear();
    expect(t.gates.size).toBe(0);
    expect(t.gates.waitingCount).toBe(0);
    expect(t.release(1000)).toBe(Infinity);
    expect(t.sent).toHaveLength(1);
  });
});

describe('Wakeup', () => {
  /** A fake timer: records [due time, work], runs due ones on advance. */
  function fakeTimers() {
    let now = 0;
    let timers: Array<{ at: number; work: () => void }> = [];
    const schedule: ScheduleTimer = (work, delayMs) => {
      const timer = { at: now + delayMs, work };
      timers.push(timer);
      return () => (timers = timers.filter((t) => t !== timer));
    };
    return {
      schedule,
      now: () => now,
      count: () => timers.length,
      advance(to: number) {
        now = to;
        const due = timers.filter((t) => t.at <= to);
        timers = timers.filter((t) => t.at > to);
        for (const t of due) t.work();
      },
    };
  }

  it('keeps one timer at the earliest time asked for, and re-arms only for an earlier one', () => {
    const clock = fakeTimers();
    const fired: number[] = [];
    const wakeup = new Wakeup(clock.now, clock.schedule, () => fired.push(clock.now()));
    wakeup.arm(300);
    wakeup.arm(400); // later: nothing changes
    wakeup.arm(Infinity);
    expect(clock.count()).toBe(1);
    wakeup.arm(100); // earlier: the timer moves
    expect(clock.count()).toBe(1);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(100);
    clock.advance(299);
    expect(fired).toEqual([100]); // once: the timer for 300 was replaced, not added
    wakeup.arm(350);
    wakeup.disarm();
    clock.advance(1000);
    expect(fired).toEqual([100]);
    expect(clock.count()).toBe(0);
  });
});
