// The bounded latest-state map (src/fanout/camera-states.ts) with an injected clock, and the
// sweep that makes it follow the store (src/fanout/camera-sweep.ts).
import { describe, expect, it } from 'vitest';
import { CameraStates, EVICTION_LOG_INTERVAL_MS } from '../../src/fanout/camera-states.js';
import { CameraSweep, SWEEP_CHUNK } from '../../src/fanout/camera-sweep.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';

function cameraFrame(camera: string, seq: number): ReadyFrame {
  return { kind: 'camera', camera, seq, timestamp: seq, json: Buffer.from(`J:${camera}:${seq}`), msgpack: Buffer.from(`M:${camera}:${seq}`), origin: 0 };
}

function withClock(maxCameras: number) {
  const clock = { now: 1_000_000 };
  const evictions: Array<[string, number]> = [];
  const states = new CameraStates({ maxCameras, now: () => clock.now, onEvicted: (camera, count) => evictions.push([camera, count]) });
  return { clock, evictions, states };
}

describe('CameraStates', () => {
  it('keeps the newest state of each camera and refuses one that is not newer', () => {
    const { states } = withClock(10);
    expect(states.remember(cameraFrame('a', 2))).toBe(true);
    expect(states.remember(cameraFrame('a', 2))).toBe(false);
    expect(states.remember(cameraFrame('a', 1))).toBe(false);
    expect(states.get('a')?.seq).toBe(2);
    expect(states.remember(cameraFrame('a', 3))).toBe(true);
    expect(states.get('a')?.seq).toBe(3);
    expect(states.size).toBe(1);
  });

  it('holds at most maxCameras, forgetting the least recently updated camera', () => {
    const { states } = withClock(3);
    for (const [camera, seq] of [['a', 1], ['b', 2], ['c', 3]] as const) states.remember(cameraFrame(camera, seq));
    // a is updated: b is now the least recently updated.
    states.remember(cameraFrame('a', 4));
    states.remember(cameraFrame('d', 5));
    expect([...states.keys()]).toEqual(['c', 'a', 'd']);
    states.remember(cameraFrame('e', 6));
    expect([...states.keys()]).toEqual(['a', 'd', 'e']);
    expect(states.get('b')).toBeUndefined();
    expect(states.forgotten).toEqual({ cap: 2, store: 0 });
  });

  it('stays exact over many evictions mixed with updates (against a plain list)', () => {
    const { states } = withClock(50);
    const order: string[] = [];
    let seq = 0;
    let random = 12345;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const camera = `c${next() % 200}`;
      states.remember(cameraFrame(camera, ++seq));
      const at = order.indexOf(camera);
      if (at !== -1) order.splice(at, 1);
      else if (order.length === 50) order.shift();
      order.push(camera);
    }
    expect([...states.keys()]).toEqual(order);
  });

  it('logs evictions at most once per interval, with the number forgotten since the last line', () => {
    const { clock, evictions, states } = withClock(2);
    states.remember(cameraFrame('a', 1));
    states.remember(cameraFrame('b', 2));
    states.remember(cameraFrame('c', 3)); // forgets a: logged
    states.remember(cameraFrame('d', 4)); // forgets b: not logged
    clock.now += EVICTION_LOG_INTERVAL_MS - 1;
    states.remember(cameraFrame('e', 5)); // forgets c: still inside the interval
    expect(evictions).toEqual([['a', 1]]);
    clock.now += 1;
    states.remember(cameraFrame('f', 6)); // forgets d: logged, standing for b, c and d
    expect(evictions).toEqual([
      ['a', 1],
      ['d', 3],
    ]);
    expect(states.forgotten.cap).toBe(4);
  });

  it('forgets a camera gone from the store only while its state is still the one looked up', () => {
    const { states } = withClock(10);
    states.remember(cameraFrame('a', 1));
    states.remember(cameraFrame('b', 2));
    states.remember(cameraFrame('a', 3));
    expect(states.forget('a', 1)).toBe(false); // a newer row came meanwhile: a is back
    expect(states.forget('b', 2)).toBe(true);
    expect(states.forget('b', 2)).toBe(false);
    expect([...states.keys()]).toEqual(['a']);
    expect(states.forgotten).toEqual({ cap: 0, store: 1 });
  });

  it('refuses a cap below 1', () => {
    expect(() => new CameraStates({ maxCameras: 0 })).toThrow(RangeError);
  });
});

describe('CameraSweep', () => {
  /** A store that has the given cameras' rows; `during` runs while a lookup is in flight. */
  function store(has: Set<string>, during: () => void = () => undefined) {
    const asked: number[] = [];
    return {
      asked,
      camerasWithoutRows: async (cameras: string[]) => {
        asked.push(cameras.length);
        during();
        return cameras.filter((camera) => !has.has(camera));
      },
    };
  }

  it('forgets the cameras the store no longer has, asking in bounded chunks', async () => {
    const { states } = withClock(10_000);
    const count = SWEEP_CHUNK * 2 + 5;
    for (let i = 0; i < count; i++) states.remember(cameraFrame(`c${i}`, i + 1));
    const fake = store(new Set(['c0', 'c7']));
    let reported = 0;
    const sweep = new CameraSweep(fake, states, { forgotten: (n) => (reported = n), failed: (error) => { throw error; } });
    expect(await sweep.sweep()).toBe(count - 2);
    expect(fake.asked).toEqual([SWEEP_CHUNK, SWEEP_CHUNK, 5]);
    expect([...states.keys()]).toEqual(['c0', 'c7']);
    expect(reported).toBe(count - 2);
  });

  it('keeps a camera whose newer state arrived while the store was asked', async () => {
    const { states } = withClock(10);
    states.remember(cameraFrame('gone', 1));
    states.remember(cameraFrame('back', 2));
    const fake = store(new Set(), () => states.remember(cameraFrame('back', 3)));
    const sweep = new CameraSweep(fake, states, { forgotten: () => undefined, failed: () => undefined });
    expect(await sweep.sweep()).toBe(1);
    expect([...states.keys()]).toEqual(['back']);
  });

  it('reports a failed lookup and forgets nothing', async () => {
    const { states } = withClock(10);
    states.remember(cameraFrame('a', 1));
    const failures: unknown[] = [];
    const sweep = new CameraSweep({ camerasWithoutRows: async () => Promise.reject(new Error('SQLITE_BUSY')) }, states, {
      forgotten: () => undefined,
      failed: (error) => failures.push(error),
    });
    expect(await sweep.sweep()).toBe(0);
    expect(failures).toHaveLength(1);
    expect(states.size).toBe(1);
  });
});
