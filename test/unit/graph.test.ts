// The stream graph in virtual time: per-camera coalescing (PROTOCOL.md section 6), tiles
// untouched, sources merged, one shared stream. The TestScheduler is passed as the graph's
// scheduler inside run mode, where its now() follows virtual time (see coalesce.test.ts).
import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { JITTER_ALLOWANCE } from '../../src/pipeline/rate-limiter.js';
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
