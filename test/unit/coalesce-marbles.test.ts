// coalesceLatest as RxJS tests throttleTime: marble diagrams in virtual time (TestScheduler run
// mode, 1 frame = 1 ms), one block per option set (rate, burst), each with the same cases:
// leading and trailing edge, input at exactly the rate, a stall, unsubscribe, error, and the
// empty / never / throwing sources. Expected times follow from docs/protocol.md section 6 and the
// two buckets of src/util/rate-limiter.ts (worked out in each option set's comment).
import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { coalesceLatest } from '../../src/pipeline/coalesce.js';

interface Update {
  seq: number;
}

/** Marble values: each letter `a`..`z` is {seq: 1..26}, so alphabetical order is seq order. */
const V: Record<string, Update> = Object.fromEntries([...'abcdefghijklmnopqrstuvwxyz'].map((letter, i) => [letter, { seq: i + 1 }]));

function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/**
 * A marble diagram of `events` ([frame, letters], frames increasing): a letter occupies one
 * frame, a group `(ab)` as many frames as its characters, gaps use time progression (`9ms`).
 */
function timeline(events: ReadonlyArray<readonly [number, string]>): string {
  let at = 0;
  let out = '';
  for (const [frame, letters] of events) {
    if (frame < at) throw new Error(`frame ${frame} cannot follow the previous event (next free frame ${at})`);
    if (frame > at) out += ` ${frame - at}ms `;
    out += letters.length === 1 ? letters : `(${letters})`;
    at = frame + (letters.length === 1 ? 1 : letters.length + 2);
  }
  return out.trim();
}

interface OptionSet {
  name: string;
  ratePerSecond: number;
  burst: number;
  /** ms between updates at exactly the rate. */
  period: number;
  /**
   * When the trailing edge of a burst starting at frame 0 goes out: the short bucket (burst
   * tokens, refilled 10% faster than the rate) has a token again 1000 / (1.1 * rate) ms
   * after it was emptied, rounded up to whole ms.
   */
  trail: number;
  /** Arrivals at the rate with one late by 40% of a period (a stall), then on time again. */
  stallIn: Array<[number, string]>;
  /** What goes out: with burst 1 the late one delays the next few a little less each period. */
  stallOut: Array<[number, string]>;
}

const OPTION_SETS: OptionSet[] = [
  {
    name: '10 Hz, burst 1',
    ratePerSecond: 10,
    burst: 1,
    period: 100,
    trail: 91,
    // c is 40 ms late; d comes 60 ms after it, when the short bucket holds 0.66 tokens: d waits
    // 31 ms; each later one 9 ms less (the 10% allowance: a token every 91 ms) until h is on time.
    stallIn: [[0, 'a'], [100, 'b'], [240, 'c'], [300, 'd'], [400, 'e'], [500, 'f'], [600, 'g'], [700, 'h']],
    stallOut: [[0, 'a'], [100, 'b'], [240, 'c'], [331, 'd'], [422, 'e'], [513, 'f'], [604, 'g'], [700, 'h']],
  },
  {
    name: '10 Hz, burst 2',
    ratePerSecond: 10,
    burst: 2,
    period: 100,
    trail: 91,
    // The second token absorbs the late arrival: every update passes on arrival (rule 5).
    stallIn: [[0, 'a'], [100, 'b'], [240, 'c'], [300, 'd'], [400, 'e'], [500, 'f'], [600, 'g'], [700, 'h']],
    stallOut: [[0, 'a'], [100, 'b'], [240, 'c'], [300, 'd'], [400, 'e'], [500, 'f'], [600, 'g'], [700, 'h']],
  },
  {
    name: '50 Hz, burst 1',
    ratePerSecond: 50,
    burst: 1,
    period: 20,
    trail: 19,
    // c is 8 ms late; d waits 7 ms, and each later one a millisecond less (the 10% allowance,
    // in whole ms: the short bucket holds one token, refilled in 18.2 ms), until k is on time.
    stallIn: [[0, 'a'], [20, 'b'], [48, 'c'], [60, 'd'], [80, 'e'], [100, 'f'], [120, 'g'], [140, 'h'], [160, 'i'], [180, 'j'], [200, 'k'], [220, 'l']],
    stallOut: [[0, 'a'], [20, 'b'], [48, 'c'], [67, 'd'], [86, 'e'], [105, 'f'], [124, 'g'], [143, 'h'], [162, 'i'], [181, 'j'], [200, 'k'], [220, 'l']],
  },
  {
    name: '60 Hz, burst 2',
    ratePerSecond: 60,
    burst: 2,
    period: 17,
    trail: 16,
    // 17 ms is a little slower than 60 Hz; with two tokens the late one costs nothing.
    stallIn: [[0, 'a'], [17, 'b'], [41, 'c'], [51, 'd'], [68, 'e'], [85, 'f'], [102, 'g'], [119, 'h']],
    stallOut: [[0, 'a'], [17, 'b'], [41, 'c'], [51, 'd'], [68, 'e'], [85, 'f'], [102, 'g'], [119, 'h']],
  },
];

describe.each(OPTION_SETS)('coalesceLatest, $name', (set) => {
  const operator = (scheduler: TestScheduler, extra: { onGates?: (open: number) => void } = {}) =>
    coalesceLatest<Update>({ ratePerSecond: set.ratePerSecond, burst: set.burst, scheduler, ...extra });
  /** The letters of a burst that pass at once: the first `burst` of them, one frame each. */
  const leading = 'abcdefgh'.slice(0, set.burst);

  it('leading edge: the first update after a quiet period goes out at once (rule 4)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  500ms a', V);
      const e1subs = '  ^';
      const expected = '500ms a';
      expectObservable(e1.pipe(operator(scheduler))).toBe(expected, V);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('leading edge: the first `burst` updates of a burst go out at once', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('abcdefgh', V);
      // Unsubscribed just before the trailing edge would go out.
      expectObservable(e1.pipe(operator(scheduler)), `^ ${set.trail - 2}ms !`).toBe(leading, V);
    });
  });

  it('trailing edge: after a burst, only the newest update, when a token is back', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('abcdefgh', V);
      const expected = timeline([...[...leading].map((letter, i) => [i, letter] as [number, string]), [set.trail, 'h']]);
      expectObservable(e1.pipe(operator(scheduler))).toBe(expected, V);
    });
  });

  it('leading edge again once the burst is long over, then trailing again', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // A second identical burst 1000 ms after the first: it is treated exactly like the first.
      const first: Array<[number, string]> = [...'abcd'].map((letter, i) => [i, letter]);
      const second: Array<[number, string]> = [...'efgh'].map((letter, i) => [1000 + i, letter]);
      const e1 = hot(timeline([...first, ...second]), V);
      const lead = (from: number, letters: string) => [...letters.slice(0, set.burst)].map((letter, i) => [from + i, letter] as [number, string]);
      const expected = timeline([...lead(0, 'abcd'), [set.trail, 'd'], ...lead(1000, 'efgh'), [1000 + set.trail, 'h']]);
      expectObservable(e1.pipe(operator(scheduler))).toBe(expected, V);
    });
  });

  it('rate equal to input: mirrors a source that comes exactly at the rate (rule 5)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const at = (i: number, letter: string): [number, string] => [i * set.period, letter];
      const marbles = timeline([...'abcdefgh'].map((letter, i) => at(i, letter)));
      expectObservable(hot(marbles, V).pipe(operator(scheduler))).toBe(marbles, V);
    });
  });

  it('stall: a late update does not add latency for good; each update still goes out', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot(timeline(set.stallIn), V).pipe(operator(scheduler))).toBe(timeline(set.stallOut), V);
    });
  });

  it('drops an update not newer than one already accepted (rule 1)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // e goes out at once; c and e again come later with a token to spare and are dropped.
      const e1 = hot(timeline([[0, 'e'], [set.period * 2, 'c'], [set.period * 4, 'e']]), V);
      expectObservable(e1.pipe(operator(scheduler))).toBe('e', V);
    });
  });

  it('completion: the waiting update goes out first, then completion with it', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('abcdefgh|', V);
      const expected = timeline([...[...leading].map((letter, i) => [i, letter] as [number, string]), [set.trail, 'h|']]);
      expectObservable(e1.pipe(operator(scheduler))).toBe(expected, V);
      expectSubscriptions(e1.subscriptions).toBe('^-------!');
    });
  });

  it('unsubscribe: nothing more goes out and the timer is cancelled', () => {
    const scheduler = newScheduler();
    const gates: Array<[number, number]> = [];
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('abcdefgh', V);
      const unsub = ' ^---!';
      expectObservable(e1.pipe(operator(scheduler, { onGates: (open) => gates.push([scheduler.now(), open]) })), unsub).toBe(leading, V);
      expectSubscriptions(e1.subscriptions).toBe(unsub);
    });
    // One gate opened at frame 0; had the timer survived, the trailing edge or the release of
    // the idle gate would have been reported after frame 4.
    expect(gates).toEqual([[0, 1]]);
  });

  it('error: passed on at once; the waiting update is dropped', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('abcd#', V);
      const expected = timeline([...[...leading].map((letter, i) => [i, letter] as [number, string]), [4, '#']]);
      expectObservable(e1.pipe(operator(scheduler))).toBe(expected, V);
      expectSubscriptions(e1.subscriptions).toBe('^---!');
    });
  });

  it('handles an empty source', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(operator(scheduler))).toBe('|');
    });
  });

  it('handles a never source', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(operator(scheduler))).toBe('-');
    });
  });

  it('handles a throwing source', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('#').pipe(operator(scheduler))).toBe('#');
    });
  });
});

describe('coalesceLatest with keyOf: one gate per key, untouched values pass in order', () => {
  interface Keyed {
    seq: number;
    key: string | null;
  }
  const K: Record<string, Keyed> = {
    a: { seq: 1, key: 'A' },
    b: { seq: 2, key: 'A' },
    c: { seq: 3, key: 'A' },
    x: { seq: 4, key: 'B' },
    y: { seq: 5, key: 'B' },
    t: { seq: 6, key: null },
    u: { seq: 7, key: null },
  };

  it('throttles each key on its own and passes keyless values at once', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // 10 Hz, burst 1: A's c and B's y each trail 91 ms after their own leading edge.
      const e1 = hot('abxtcyu', K);
      const op = coalesceLatest<Keyed>({ ratePerSecond: 10, burst: 1, scheduler, keyOf: (v) => v.key });
      expectObservable(e1.pipe(op)).toBe(timeline([[0, 'a'], [2, 'x'], [3, 't'], [6, 'u'], [91, 'c'], [93, 'y']]), K);
    });
  });

  it('holds a gate per key only while it owes something', () => {
    const scheduler = newScheduler();
    const gates: Array<[number, number]> = [];
    scheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('ax', K);
      const op = coalesceLatest<Keyed>({ ratePerSecond: 10, burst: 1, scheduler, keyOf: (v) => v.key, onGates: (open) => gates.push([scheduler.now(), open]) });
      expectObservable(e1.pipe(op)).toBe('ax', K);
    });
    // 10 Hz, burst 1: the rate limiter is full again 300 ms after a pass (its sustained bucket).
    expect(gates).toEqual([
      [0, 1],
      [1, 2],
      [300, 1],
      [301, 0],
    ]);
  });
});

