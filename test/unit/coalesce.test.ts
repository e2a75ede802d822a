// coalesceLatest and its TokenBucket against docs/protocol.md section 6, in virtual time.
//
// Scheduler: inside `testScheduler.run(...)` the TestScheduler itself is passed as the
// operator's `scheduler`. In run mode its `now()` is the virtual frame (1 frame = 1 ms) and
// advances as the run flushes, so the bucket refills in virtual time (the first test below
// pins that down, because every other test depends on it).
import { describe, expect, it } from 'vitest';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { coalesceLatest } from '../../src/pipeline/coalesce.js';
import { TokenBucket } from '../../src/util/token-bucket.js';
import { JITTER_ALLOWANCE, RateLimiter } from '../../src/util/rate-limiter.js';

/**
 * At 10 Hz a held-back state waits for the short bucket, which refills slightly faster than
 * the rate (the jitter allowance): 91 ms, not 100.
 */
const TRAIL = Math.ceil(1000 / (10 * (1 + JITTER_ALLOWANCE)));

interface Update {
  seq: number;
}

function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Marble values: each letter `a`..`z` is {seq: 1..26}, so alphabetical order is seq order. */
const V: Record<string, Update> = Object.fromEntries(
  [...'abcdefghijklmnopqrstuvwxyz'].map((letter, i) => [letter, { seq: i + 1 }]),
);

/** Emits `{seq}` at each virtual time given, in order. */
function arrivals(scheduler: TestScheduler, times: readonly number[]): Observable<Update> {
  return new Observable<Update>((subscriber) => {
    times.forEach((at, i) => scheduler.schedule(() => subscriber.next({ seq: i + 1 }), at));
  });
}

/** Subscribes inside a run and records [virtual time, seq] of every emission. */
function record(scheduler: TestScheduler, source: Observable<Update>): Array<[number, number]> {
  const seen: Array<[number, number]> = [];
  source.subscribe((value) => seen.push([scheduler.now(), value.seq]));
  return seen;
}

describe('TestScheduler run mode', () => {
  it('advances scheduler.now() in virtual time, so the bucket can refill', () => {
    const testScheduler = newScheduler();
    const seen: number[] = [];
    testScheduler.run(() => {
      testScheduler.schedule(() => seen.push(testScheduler.now()), 100);
      testScheduler.schedule(() => seen.push(testScheduler.now()), 250);
    });
    expect(seen).toEqual([100, 250]);
  });
});

describe('coalesceLatest', () => {
  it('sends the first update after a quiet period at once (rule 4)', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('500ms a', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op)).toBe('500ms a', V);
    });
  });

  it('sends the leading edge at once again once a burst is long over', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      // a@0 b@1 c@2, then d@1003: the bucket is full again long before d.
      const source = hot('abc 1000ms d', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op)).toBe(`a ${TRAIL - 1}ms c ${1002 - TRAIL}ms d`, V);
    });
  });

  it('trails with the newest value, skipping intermediates, within one rate interval', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      // a@0 b@10 c@20 d@30: b and c are superseded; d goes out when the token is back,
      // no later than 1/max_hz after the burst ended (rule 3).
      const source = hot('a 9ms b 9ms c 9ms d', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op)).toBe(`a ${TRAIL - 1}ms d`, V);
    });
  });

  it('never delivers an older state after a newer one (rule 1)', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      // c (seq 3) arrives after e (seq 5) was sent, with a token available: still dropped,
      // and so is a repeat of e (same seq).
      const source = hot('a 199ms e 199ms ce', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op)).toBe('a 199ms e', V);
    });
  });

  it('drops a lower seq arriving while a newer one waits for a token', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('a d b c', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op)).toBe(`a ${TRAIL - 1}ms d`, V);
    });
  });

  it('passes every update that comes at the rate: 10 Hz, burst 1, every 100 ms (rule 5)', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const marbles = 'a 99ms b 99ms c 99ms d 99ms e 99ms f';
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(hot(marbles, V).pipe(op)).toBe(marbles, V);
    });
  });

  it('passes every update at the rate with timer jitter when burst is 2 (rule 5)', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      // Arrivals at 0, 95, 210, 290, 405 ms: 10 Hz on average, but two gaps under 100 ms.
      const marbles = 'a 94ms b 114ms c 79ms d 114ms e';
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 2, scheduler: testScheduler });
      expectObservable(hot(marbles, V).pipe(op)).toBe(marbles, V);
    });
  });

  it('passes a 60 Hz producer rounded to whole milliseconds at 60 Hz, burst 2 (rule 5)', () => {
    const testScheduler = newScheduler();
    let seen: Array<[number, number]> = [];
    // 16/17/17 ms gaps: a fixed 1000/60 ms window would drop some of these.
    const times = Array.from({ length: 600 }, (_, i) => Math.round((i * 1000) / 60));
    testScheduler.run(() => {
      const op = coalesceLatest<Update>({ ratePerSecond: 60, burst: 2, scheduler: testScheduler });
      seen = record(testScheduler, arrivals(testScheduler, times).pipe(op));
    });
    expect(seen).toEqual(times.map((at, i) => [at, i + 1]));
  });

  it('turns 50 values within 1 ms into the burst at once and the last one a token later', () => {
    const testScheduler = newScheduler();
    let seen: Array<[number, number]> = [];
    let coalesced = 0;
    const times = Array.from({ length: 50 }, (_, i) => (i < 25 ? 0 : 1));
    testScheduler.run(() => {
      const op = coalesceLatest<Update>({
        ratePerSecond: 10,
        burst: 2,
        scheduler: testScheduler,
        onCoalesced: (n) => (coalesced += n),
      });
      seen = record(testScheduler, arrivals(testScheduler, times).pipe(op));
    });
    expect(seen).toEqual([
      [0, 1],
      [0, 2],
      [TRAIL, 50],
    ]);
    // 3..49 were each replaced by a newer value before they could be sent.
    expect(coalesced).toBe(47);
  });

  it('never exceeds rate * elapsed + a quarter second of updates under a sustained flood, and ends on the last value', () => {
    const testScheduler = newScheduler();
    let seen: Array<[number, number]> = [];
    const rate = 10;
    const burst = 2;
    const times = Array.from({ length: 1000 }, (_, i) => i); // 1 kHz for a second
    testScheduler.run(() => {
      const op = coalesceLatest<Update>({ ratePerSecond: rate, burst, scheduler: testScheduler });
      seen = record(testScheduler, arrivals(testScheduler, times).pipe(op));
    });
    // The sustained bucket: a quarter of a second's worth (3 at 10 Hz), refilled at the rate.
    const sustained = Math.max(burst, Math.ceil(rate / 4));
    seen.forEach(([at], i) => expect(i + 1).toBeLessThanOrEqual((rate * at) / 1000 + sustained));
    const seqs = seen.map(([, seq]) => seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const [lastAt, lastSeq] = seen.at(-1)!;
    expect(lastSeq).toBe(1000);
    expect(lastAt).toBeLessThanOrEqual(999 + 1000 / rate);
    // Not starved either: close to the allowed rate over the second.
    expect(seen.length).toBeGreaterThanOrEqual(rate + burst - 1);
  });

  it('sends the pending value before completing, when the rate allows', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      // Completes at 3 ms while c waits: c must not be lost, and completion follows it.
      const source = hot('abc|', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op)).toBe(`a ${TRAIL - 1}ms (c|)`, V);
    });
  });

  it('completes at once when nothing is pending', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable }) => {
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(hot('a 9ms |', V).pipe(op)).toBe('a 9ms |', V);
    });
  });

  it('cancels its trailing timer on unsubscribe', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('ab', V);
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler });
      expectObservable(source.pipe(op), '^ 49ms !').toBe('a', V);
      expectSubscriptions(source.subscriptions).toBe('^ 49ms !');
    });
  });

  it('counts each value replaced before it was sent through onCoalesced', () => {
    const testScheduler = newScheduler();
    let coalesced = 0;
    testScheduler.run(({ hot, expectObservable }) => {
      // b, c, d replaced in the first window; f replaced in the second. Dropped stale
      // values (a lower seq) are not coalesced states and are not counted.
      const source = hot(`abcde ${TRAIL}ms fgb`, V);
      const op = coalesceLatest<Update>({
        ratePerSecond: 10,
        burst: 1,
        scheduler: testScheduler,
        onCoalesced: (n) => (coalesced += n),
      });
      expectObservable(source.pipe(op)).toBe(`a ${TRAIL - 1}ms e ${TRAIL - 1}ms g`, V);
    });
    expect(coalesced).toBe(4);
  });
});

describe('RateLimiter', () => {
  it('forgets a stall: after one late update at exactly the rate, later ones pass on time again', () => {
    // A 60 Hz producer; update 10 arrives 40 ms late (a long write loop), then all on time.
    // One bucket refilled at exactly the rate would hold every later update back ~23 ms.
    const limiter = new RateLimiter(60, 2, 0);
    const period = 1000 / 60;
    const heldBack: number[] = [];
    let nextFree = 0;
    for (let i = 0; i < 200; i++) {
      const arrival = i * period + (i === 10 ? 40 : 0);
      let at = Math.max(arrival, nextFree);
      while (!limiter.take(at)) at += limiter.msUntilPass(at);
      nextFree = at;
      heldBack.push(at - arrival);
    }
    expect(Math.max(...heldBack.slice(60))).toBeLessThan(1);
  });

  it('keeps the average under a flood: the rate, not the faster refill of the short bucket', () => {
    const limiter = new RateLimiter(10, 2, 0);
    let passed = 0;
    for (let t = 0; t <= 10_000; t++) if (limiter.take(t)) passed++;
    // 10 s at 10 Hz, plus what the buckets held at the start.
    expect(passed).toBeLessThanOrEqual(100 + 3 + 1);
    expect(passed).toBeGreaterThanOrEqual(100);
  });
});

describe('TokenBucket', () => {
  it('starts full, allows a burst, then refuses', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
  });

  it('refills at the rate', () => {
    const bucket = new TokenBucket(10, 1, 0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(99)).toBe(false);
    expect(bucket.take(100)).toBe(true);
  });

  it('caps the refill at the burst after a long idle time', () => {
    const bucket = new TokenBucket(10, 2, 0);
    bucket.take(0);
    bucket.take(0);
    const takes = Array.from({ length: 5 }, () => bucket.take(60_000));
    expect(takes).toEqual([true, true, false, false, false]);
  });


  it('gives msUntilToken in whole ms at 60 Hz, and a take succeeds at that time', () => {
    const bucket = new TokenBucket(60, 1, 0);
    expect(bucket.msUntilToken(0)).toBe(0);
    bucket.take(0);
    // 16.67 ms rounded up: a timer set for it never fires before the token exists.
    expect(bucket.msUntilToken(0)).toBe(17);
    expect(bucket.msUntilToken(10)).toBe(7);
    expect(bucket.msUntilToken(1000 / 60)).toBe(0);
    expect(bucket.take(1000 / 60)).toBe(true);
    const wait = bucket.msUntilToken(1000 / 60);
    expect(wait).toBe(17);
    expect(bucket.take(1000 / 60 + wait)).toBe(true);
  });

  it('does not starve at exactly 60 Hz over 10,000 periods of 1000/60 ms', () => {
    // 1000/60 is not exact in binary: without a tolerance, some refills fall a hair short of
    // one token and a state that came exactly at the allowed rate would be held back.
    const multiplied = new TokenBucket(60, 1, 0);
    const accumulated = new TokenBucket(60, 1, 0);
    let refusedMultiplied = 0;
    let refusedAccumulated = 0;
    let t = 0;
    for (let i = 0; i <= 10_000; i++) {
      if (!multiplied.take((i * 1000) / 60)) refusedMultiplied++;
      if (!accumulated.take(t)) refusedAccumulated++;
      if (accumulated.msUntilToken(t + 1000 / 60) !== 0) refusedAccumulated++;
      t += 1000 / 60;
    }
    expect(refusedMultiplied).toBe(0);
    expect(refusedAccumulated).toBe(0);
  });

  it('rejects a rate or burst that cannot work', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(RangeError);
  });
});

describe('coalesceLatest: onIdle', () => {
  // 10 Hz, burst 1: the rate limiter is full again 300 ms after its last pass (the
  // sustained bucket's quarter second, 3 updates, refilled at 10/s).
  const FILL = 300;

  /** When onIdle was called; the marbles' states go out as the leading edge, or a then c. */
  function idleTimes(marbles: string): { idle: number[] } {
    const testScheduler = newScheduler();
    const idle: number[] = [];
    testScheduler.run(({ hot, expectObservable }) => {
      const op = coalesceLatest<Update>({ ratePerSecond: 10, burst: 1, scheduler: testScheduler, onIdle: () => idle.push(testScheduler.now()) });
      expectObservable(hot(marbles, V).pipe(op)).toBe(marbles.includes('c') ? `a ${TRAIL - 1}ms c` : marbles, V);
    });
    return { idle };
  }

  it('says it is idle a fill time after the leading edge', () => {
    expect(idleTimes('a').idle).toEqual([FILL]);
  });

  it('is not idle while a trailing edge waits: a fill time after that edge', () => {
    expect(idleTimes('abc').idle).toEqual([TRAIL + FILL]);
  });

  it('says it again after later updates, once idle again', () => {
    expect(idleTimes(`a ${FILL + 99}ms b`).idle).toEqual([FILL, FILL + 100 + FILL]);
  });
});
