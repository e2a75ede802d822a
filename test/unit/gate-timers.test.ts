// Both users of the latest-wins gate keep one timer for all of their cameras, whatever the
// number of cameras owing a trailing edge or a release: the stream graph on its RxJS scheduler
// and a throttled audience group on Node's timers. Virtual time only.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { EventEmitter } from 'node:events';
import { buildGraph } from '../../src/pipeline/graph.js';
import { Hub } from '../../src/fanout/hub.js';
import type { Transport } from '../../src/fanout/client.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';

const CAMERAS = 1000;

function frame(camera: string, seq: number): ReadyFrame {
  const bytes = Buffer.from(`${camera}:${seq};`);
  return { kind: 'camera', camera, seq, timestamp: seq, json: bytes, msgpack: bytes, legacy: bytes, origin: 0 };
}

/** Every camera twice: the first state passes (leading edge), the second waits for a token. */
function twoStatesEach(): ReadyFrame[] {
  const frames: ReadyFrame[] = [];
  for (let i = 0; i < CAMERAS; i++) frames.push(frame(`cam-${i}`, i + 1));
  for (let i = 0; i < CAMERAS; i++) frames.push(frame(`cam-${i}`, CAMERAS + i + 1));
  return frames;
}

class CountingTransport extends EventEmitter implements Transport {
  writableNeedDrain = false;
  writableLength = 0;
  destroyed = false;
  open = true;
  messages = 0;
  write(data: Buffer): boolean {
    this.messages += data.toString().split(';').length - 1;
    return true;
  }
  cork(): void {}
  uncork(): void {}
}

afterEach(() => vi.useRealTimers());

describe('one timer per gate table', () => {
  it('the stream graph: 1,000 cameras each owing a trailing edge hold one scheduled action', () => {
    const scheduler = new VirtualTimeScheduler();
    const source = new Subject<readonly ReadyFrame[]>();
    const seen: ReadyFrame[] = [];
    const subscription = buildGraph([source], { maxHz: 10, burst: 1, scheduler }).subscribe((f) => seen.push(f));
    source.next(twoStatesEach());
    expect(seen).toHaveLength(CAMERAS);
    expect(scheduler.actions).toHaveLength(1);
    scheduler.flush();
    // Every trailing edge went out, and every gate was released: nothing is scheduled any more.
    expect(seen).toHaveLength(2 * CAMERAS);
    expect(seen.slice(CAMERAS).every((f) => f.seq > CAMERAS)).toBe(true);
    expect(scheduler.actions).toHaveLength(0);
    subscription.unsubscribe();
  });

  it('a throttled audience group: 1,000 cameras each owing a trailing edge hold one Node timer', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    const hub = new Hub({ maxHz: 60, burst: 1, now: () => Date.now() });
    const transport = new CountingTransport();
    hub.join(1, 'json', transport, { cameras: null, maxHz: 10 });
    for (const f of twoStatesEach()) hub.publish(f);
    vi.advanceTimersByTime(1); // the end-of-turn delivery
    expect(transport.messages).toBe(CAMERAS);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(transport.messages).toBe(2 * CAMERAS);
    expect(vi.getTimerCount()).toBe(0);
  });
});
