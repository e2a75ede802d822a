// The delivery guarantees of docs/protocol.md section 6, under fast-check: for any interleaving of
// updates, client rates and reader stalls, the stream graph and the hub together
//   1. deliver each camera's states in strictly increasing seq order,
//   3. always deliver the newest state once the client reads again (within one interval),
//   4. send the first update after a quiet period at once, and
//   5. deliver every update when updates come no faster than the client's max_hz.
// Time is virtual (vitest fake timers drive RxJS's scheduler, the hub's timers and Date).
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { buildGraph } from '../../src/pipeline/graph.js';
import { Hub } from '../../src/fanout/hub.js';
import type { Transport } from '../../src/fanout/client.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';

const SERVER_HZ = 60;
const BURST = 2;

class RecordingTransport extends EventEmitter implements Transport {
  writableNeedDrain = false;
  writableLength = 0;
  destroyed = false;
  open = true;
  /** Every frame written, with the virtual time it was written at. */
  readonly frames: Array<{ at: number; camera: string; seq: number }> = [];

  write(data: Buffer): boolean {
    for (const part of data.toString().split(';')) {
      if (part === '') continue;
      const [camera, seq] = part.split(':');
      this.frames.push({ at: Date.now(), camera: camera!, seq: Number(seq) });
    }
    return !this.writableNeedDrain;
  }

  cork(): void {}
  uncork(): void {}

  resume(): void {
    this.writableNeedDrain = false;
    this.emit('drain');
  }
}

function frame(camera: string, seq: number): ReadyFrame {
  const bytes = Buffer.from(`${camera}:${seq};`);
  return { kind: 'camera', camera, seq, timestamp: Date.now(), json: bytes, msgpack: bytes, legacy: bytes, origin: 0 };
}

type Step = { waitMs: number; action: 'update'; camera: 'a' | 'b' } | { waitMs: number; action: 'stall' | 'resume' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ waitMs: fc.integer({ min: 0, max: 120 }), action: fc.constant('update' as const), camera: fc.constantFrom('a' as const, 'b' as const) }) },
  { weight: 1, arbitrary: fc.record({ waitMs: fc.integer({ min: 0, max: 120 }), action: fc.constantFrom('stall' as const, 'resume' as const) }) },
);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
});
afterEach(() => vi.useRealTimers());

interface Run {
  transport: RecordingTransport;
  published: Array<{ at: number; camera: string; seq: number; stalled: boolean }>;
}

function run(steps: Step[], clientHz: number): Run {
  const hub = new Hub({ maxHz: SERVER_HZ, burst: BURST });
  const source = new Subject<readonly ReadyFrame[]>();
  const subscription = buildGraph([source], { maxHz: SERVER_HZ, burst: BURST }).subscribe((f) => hub.publish(f));
  const transport = new RecordingTransport();
  hub.join(1, 'json', transport, { cameras: new Set(['a', 'b']), maxHz: clientHz });
  const published: Run['published'] = [];
  let seq = 0;
  for (const s of steps) {
    vi.advanceTimersByTime(s.waitMs);
    if (s.action === 'update') {
      seq++;
      published.push({ at: Date.now(), camera: s.camera, seq, stalled: transport.writableNeedDrain });
      source.next([frame(s.camera, seq)]);
      // Let this instant's deliveries (setImmediate) happen before time moves on.
      vi.advanceTimersByTime(0);
    } else if (s.action === 'stall') {
      transport.writableNeedDrain = true;
    } else {
      transport.resume();
    }
  }
  transport.resume();
  vi.advanceTimersByTime(2000);
  subscription.unsubscribe();
  return { transport, published };
}

const rates = fc.constantFrom(5, 10, 30, 60);

describe('delivery guarantees for any interleaving', () => {
  it('1 and 3: strictly increasing seq per camera, and every camera ends on its newest state', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), rates, (steps, clientHz) => {
        const { transport, published } = run(steps, clientHz);
        for (const camera of ['a', 'b']) {
          const got = transport.frames.filter((f) => f.camera === camera).map((f) => f.seq);
          for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]!);
          const newest = published.filter((p) => p.camera === camera).at(-1);
          expect(got.at(-1)).toBe(newest?.seq);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('3: the newest state arrives within one rate interval after a burst ends', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 60 }), rates, (gaps, clientHz) => {
        const steps: Step[] = gaps.map((waitMs) => ({ waitMs, action: 'update', camera: 'a' }));
        const { transport, published } = run(steps, clientHz);
        const last = published.at(-1)!;
        const delivered = transport.frames.find((f) => f.seq === last.seq)!;
        // Two throttles in a row (server and client rate) may each hold it up to an interval.
        const interval = Math.ceil(1000 / clientHz) + (clientHz < SERVER_HZ ? Math.ceil(1000 / SERVER_HZ) : 0);
        expect(delivered.at - last.at).toBeLessThanOrEqual(interval + 1);
      }),
      { numRuns: 300 },
    );
  });

  it('4: after a quiet period the first update is sent at once', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), rates, fc.constantFrom('a' as const, 'b' as const), (steps, clientHz, camera) => {
        // Any history, then silence long enough to refill both token buckets, then one update.
        const quietMs = Math.ceil((BURST * 1000) / clientHz) + 2000;
        const all: Step[] = [...steps, { waitMs: 0, action: 'resume' }, { waitMs: quietMs, action: 'update', camera }];
        const { transport, published } = run(all, clientHz);
        const last = published.at(-1)!;
        const delivered = transport.frames.find((f) => f.seq === last.seq)!;
        expect(delivered.at).toBe(last.at);
      }),
      { numRuns: 300 },
    );
  });

  it('5: updates no faster than max_hz are all delivered, despite timer jitter', () => {
    fc.assert(
      fc.property(rates, fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 60 }), fc.constantFrom('a' as const, 'b' as const), (clientHz, jitter, camera) => {
        // A producer at exactly max_hz whose ticks land a few ms early or late (never drifting).
        const period = 1000 / clientHz;
        let previous = 0;
        const steps: Step[] = jitter.map((j, i) => {
          const at = Math.max(previous, Math.round(i * period + (i === 0 ? 0 : j)));
          const waitMs = at - previous;
          previous = at;
          return { waitMs, action: 'update', camera };
        });
        const { transport, published } = run(steps, clientHz);
        expect(transport.frames.map((f) => f.seq)).toEqual(published.map((p) => p.seq));
      }),
      { numRuns: 300 },
    );
  });
});
