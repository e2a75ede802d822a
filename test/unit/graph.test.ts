// The stream graph in virtual time: per-camera coalescing (docs/protocol.md section 6), tiles
// untouched, sources merged, one shared stream. The TestScheduler is passed as the graph's
// scheduler inside run mode, where its now() follows virtual time (see coalesce.test.ts).
import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { take } from 'rxjs';
import { JITTER_ALLOWANCE } from '../../src/util/rate-limiter.js';
import { buildGraph } from '../../src/pipeline/graph.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';

function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

function cameraFrame(camera: string, seq: number): ReadyFrame {
  return {
    kind: 'camera',
    camera,
    seq,
    timestamp: 1_700_000_000_000 + seq,
    json: Buffer.from(`{"camera":"${camera}","seq":${seq}}`),
    msgpack: Buffer.from([0x82, seq & 0xff]),
    legacy: Buffer.from(`{"camera":"${camera}","seq":${seq}}`),
    origin: 0,
  };
}

function tileFrame(seq: number): ReadyFrame {
  return {
    kind: 'tile',
    camera: '',
    seq,
    timestamp: 1_700_000_000_000 + seq,
    json: Buffer.from(`{"type":"tile_update","seq":${seq}}`),
    msgpack: Buffer.from([0x85, seq & 0xff]),
    legacy: Buffer.from(`{"type":"tile_update","seq":${seq}}`),
    origin: 0,
  };
}

const A1 = cameraFrame('A', 1);
const A2 = cameraFrame('A', 2);
const A3 = cameraFrame('A', 3);
const B1 = cameraFrame('B', 4);
const B2 = cameraFrame('B', 5);

const options = (scheduler: TestScheduler) => ({ maxHz: 10, burst: 1, scheduler });
/** When a held-back state goes out at 10 Hz: the short bucket refills a little faster than the rate. */
const TRAIL = Math.ceil(1000 / (10 * (1 + JITTER_ALLOWANCE)));

describe('buildGraph', () => {
  it('coalesces each camera on its own: a burst on A does not hold back B', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      // A bursts at 0, 1, 2 ms; B's first state comes at 1 ms, in the middle of A's burst.
      const source = cold<readonly ReadyFrame[]>('abc 147ms d', { a: [A1], b: [A2, B1], c: [A3], d: [B2] });
      const graph = buildGraph([source], options(testScheduler));
      // B1 at once (its own bucket is full), A's newest (A3) a token later, B2 at once.
      expectObservable(graph).toBe(`xy ${TRAIL - 2}ms z ${149 - TRAIL}ms w`, { x: A1, y: B1, z: A3, w: B2 });
    });
  });

  it('passes every tile, in order, with no rate limit, between coalesced camera states', () => {
    const testScheduler = newScheduler();
    const tiles = Array.from({ length: 6 }, (_, i) => tileFrame(100 + i));
    const seen: Array<[number, string, number]> = [];
    testScheduler.run(({ cold }) => {
      const source = cold<readonly ReadyFrame[]>('ab-c', {
        a: [tiles[0]!, A1, tiles[1]!, A2],
        b: [tiles[2]!, tiles[3]!, A3],
        c: [tiles[4]!, tiles[5]!],
      });
      buildGraph([source], options(testScheduler)).subscribe((frame) =>
        seen.push([testScheduler.now(), frame.kind, frame.seq]),
      );
    });
    expect(seen.filter(([, kind]) => kind === 'tile')).toEqual([
      [0, 'tile', 100],
      [0, 'tile', 101],
      [1, 'tile', 102],
      [1, 'tile', 103],
      [3, 'tile', 104],
      [3, 'tile', 105],
    ]);
    // Meanwhile camera A is still coalesced: leading A1, then only the newest, A3.
    expect(seen.filter(([, kind]) => kind === 'camera')).toEqual([
      [0, 'camera', 1],
      [TRAIL, 'camera', 3],
    ]);
  });

  it('merges several sources, coalescing one camera across all of them', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      // Camera A gets states from both sources; B only from the second.
      const first = cold<readonly ReadyFrame[]>('a 59ms c', { a: [A1], c: [A3] });
      const second = cold<readonly ReadyFrame[]>('49ms (bx)', { b: [A2], x: [B1] });
      const graph = buildGraph([first, second], options(testScheduler));
      // A2 (from the second source) is superseded by A3 (from the first).
      expectObservable(graph).toBe(`a 48ms x ${TRAIL - 50}ms c`, { a: A1, x: B1, c: A3 });
    });
  });

  it('delivers each camera\'s pending state before completing when every source completes', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const first = cold<readonly ReadyFrame[]>('a-b|', { a: [A1], b: [A2] });
      const second = cold<readonly ReadyFrame[]>('x-y|', { x: [B1], y: [B2] });
      const graph = buildGraph([first, second], options(testScheduler));
      expectObservable(graph).toBe(`(ax) ${TRAIL - 4}ms (by|)`, { a: A1, x: B1, b: A2, y: B2 });
    });
  });

  it('passes a batch item by item and stops inside a batch when the subscriber leaves', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const T1 = tileFrame(11);
      const T2 = tileFrame(12);
      const T3 = tileFrame(13);
      const source = cold<readonly ReadyFrame[]>('a--(b|)', { a: [T1, T2, T3], b: [tileFrame(14)] });
      expectObservable(buildGraph([source], options(scheduler)).pipe(take(2))).toBe('(xy|)', { x: T1, y: T2 });
      expectObservable(buildGraph([cold<readonly ReadyFrame[]>('a--#', { a: [T1] }, new Error('read failed'))], options(scheduler))).toBe('x--#', { x: T1 }, new Error('read failed'));
    });
  });

  it('shares one subscription to the sources among all subscribers', () => {
    const testScheduler = newScheduler();
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot<readonly ReadyFrame[]>('a 199ms b', { a: [A1], b: [B1] });
      const graph = buildGraph([source], options(testScheduler));
      expectObservable(graph).toBe('a 199ms b', { a: A1, b: B1 });
      expectObservable(graph).toBe('a 199ms b', { a: A1, b: B1 });
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('reports coalesced states through onCoalesced', () => {
    const testScheduler = newScheduler();
    let coalesced = 0;
    testScheduler.run(({ cold, expectObservable }) => {
      const A4 = cameraFrame('A', 6);
      const source = cold<readonly ReadyFrame[]>('a', { a: [A1, A2, A3, A4] });
      const graph = buildGraph([source], { ...options(testScheduler), onCoalesced: (n) => (coalesced += n) });
      expectObservable(graph).toBe(`a ${TRAIL - 1}ms d`, { a: A1, d: A4 });
    });
    // A2 and A3 were each replaced before they could be sent.
    expect(coalesced).toBe(2);
  });
});

describe('buildGraph: per-camera state is released when idle', () => {
  // At 10 Hz, burst 1, the rate limiter is full again 300 ms after its last pass: the
  // sustained bucket holds a quarter of a second of updates (3 at 10 Hz), refilled at 10/s.
  const FILL = 300;

  function lanesOver(marbles: string, values: Record<string, readonly ReadyFrame[]>) {
    const testScheduler = newScheduler();
    const lanes: Array<[number, number]> = [];
    const seen: Array<[number, string, number]> = [];
    testScheduler.run(({ cold }) => {
      const graph = buildGraph([cold<readonly ReadyFrame[]>(marbles, values)], {
        ...options(testScheduler),
        onLanes: (open) => lanes.push([testScheduler.now(), open]),
      });
      graph.subscribe((frame) => seen.push([testScheduler.now(), frame.camera, frame.seq]));
    });
    return { lanes, seen };
  }

  it('releases a camera once its leading edge is out and its bucket is full again', () => {
    const { lanes, seen } = lanesOver('a', { a: [A1] });
    expect(seen).toEqual([[0, 'A', 1]]);
    expect(lanes).toEqual([
      [0, 1],
      [FILL, 0],
    ]);
  });

  it('holds a camera while its trailing edge waits, and releases it a fill time after that edge', () => {
    const { lanes, seen } = lanesOver('abc', { a: [A1], b: [A2], c: [A3] });
    expect(seen).toEqual([
      [0, 'A', 1],
      [TRAIL, 'A', 3],
    ]);
    expect(lanes).toEqual([
      [0, 1],
      [TRAIL + FILL, 0],
    ]);
  });

  it('keeps a steadily updated camera, and releases it a fill time after its last update', () => {
    const { lanes, seen } = lanesOver('a 99ms b 99ms c', { a: [A1], b: [A2], c: [A3] });
    expect(seen.map(([at, , seq]) => [at, seq])).toEqual([
      [0, 1],
      [100, 2],
      [200, 3],
    ]);
    expect(lanes).toEqual([
      [0, 1],
      [200 + FILL, 0],
    ]);
  });

  it('passes the first update after a release at once, as a camera never seen (leading edge, rule 4)', () => {
    const { lanes, seen } = lanesOver(`a ${FILL + 99}ms bc`, { a: [A1], b: [A2], c: [A3] });
    expect(seen).toEqual([
      [0, 'A', 1],
      [FILL + 100, 'A', 2],
      [FILL + 100 + TRAIL, 'A', 3],
    ]);
    expect(lanes).toEqual([
      [0, 1],
      [FILL, 0],
      [FILL + 100, 1],
      [FILL + 100 + TRAIL + FILL, 0],
    ]);
  });

  it('holds only the cameras active within the last fill time: 1,000 cameras once each leave none', () => {
    const cameras = Array.from({ length: 1000 }, (_, i) => cameraFrame(`cam-${i}`, i + 1));
    const { lanes, seen } = lanesOver('a 9ms b', { a: cameras.slice(0, 500), b: cameras.slice(500) });
    expect(seen).toHaveLength(1000);
    expect(Math.max(...lanes.map(([, open]) => open))).toBe(1000);
    expect(lanes.at(-1)).toEqual([10 + FILL, 0]);
  });
});
