// The pieces of wirecam/client that need no server: backoff, seq filtering, interpolation,
// live figures and frame decoding.
import { describe, expect, it } from 'vitest';
import * as msgpackr from 'msgpackr';
import { encode } from '@msgpack/msgpack';
import { Backoff } from '../../src/util/backoff.js';
import { SeqFilter } from '../../src/client/freshness.js';
import { CameraInterpolator, lerpPose, poseToward } from '../../src/client/interpolate.js';
import { LatencyWindow, RateMeter } from '../../src/client/stats.js';
import { decodeFrame, DecodeError, msgpackrCodec } from '../../src/client/codec.js';
import { TypedEvents } from '../../src/client/events.js';

describe('Backoff', () => {
  it('doubles up to the ceiling, with jitter taking off at most its share', () => {
    const none = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => none.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    none.reset();
    expect(none.next()).toBe(100);
    const most = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 }, () => 1);
    expect([1, 2, 3].map(() => most.next())).toEqual([50, 100, 200]);
    const least = new Backoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 }, () => 0);
    expect([1, 2, 3].map(() => least.next())).toEqual([100, 200, 400]);
    expect(least.attempts).toBe(3);
  });

  it('spreads clients that fail together', () => {
    const delays = Array.from({ length: 50 }, () => new Backoff({ initialDelayMs: 1000, jitter: 0.5 }).next());
    expect(new Set(delays).size).toBeGreaterThan(10);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
  });
});

describe('SeqFilter', () => {
  it('passes only newer seqs per key', () => {
    const filter = new SeqFilter();
    filter.newConnection();
    expect(['main', 'main', 'side', 'main', 'main'].map((key, i) => filter.admit(key, [5, 6, 1, 6, 4][i]!))).toEqual([
      'fresh', 'fresh', 'fresh', 'stale', 'stale',
    ]);
  });

  it('discards a snapshot that repeats what it has after a reconnection', () => {
    const filter = new SeqFilter();
    filter.newConnection();
    filter.admit('main', 10);
    filter.newConnection();
    expect(filter.admit('main', 10)).toBe('stale');
    expect(filter.admit('main', 11)).toBe('fresh');
  });

  it('starts over when a new connection begins below what it had (the store was replaced)', () => {
    const filter = new SeqFilter();
    filter.newConnection();
    filter.admit('main', 500);
    filter.newConnection();
    expect(filter.admit('main', 3)).toBe('reset');
    expect(filter.admit('main', 4)).toBe('fresh');
    expect(filter.admit('main', 2)).toBe('stale'); // within a connection, never back
    expect(filter.lastSeq('main')).toBe(4);
  });
});

describe('interpolation', () => {
  const motion = { x: 0, y: 0, zoom: 1, target_x: 100, target_y: -50, target_zoom: 4 };

  it('moves linearly in position and geometrically in zoom', () => {
    expect(lerpPose({ x: 0, y: 0, zoom: 1 }, { x: 10, y: 20, zoom: 4 }, 0.5)).toEqual({ x: 5, y: 10, zoom: 2 });
    expect(poseToward(motion, 125, 250)).toEqual({ x: 50, y: -25, zoom: 2 });
    expect(poseToward(motion, 1000, 250)).toEqual({ x: 100, y: -50, zoom: 4 }); // stops at the target
    expect(poseToward(motion, -5, 250)).toEqual({ x: 0, y: 0, zoom: 1 });
  });

  it('starts at the first state, then eases toward the moving goal without jumping', () => {
    const interpolator = new CameraInterpolator({ leadMs: 100, smoothingMs: 50 });
    expect(interpolator.sample(0)).toBeNull();
    interpolator.push({ x: 0, y: 0, zoom: 1, target_x: 0, target_y: 0, target_zoom: 1 }, 0);
    expect(interpolator.sample(0)).toEqual({ x: 0, y: 0, zoom: 1 });
    for (let t = 16; t < 1000; t += 16) interpolator.sample(t); // frames go on, nothing moves
    interpolator.push({ x: 100, y: 0, zoom: 2, target_x: 100, target_y: 0, target_zoom: 2 }, 1000);
    const soon = interpolator.sample(1016)!;
    expect(soon.x).toBeGreaterThan(0);
    expect(soon.x).toBeLessThan(50); // eased, not teleported
    let last = soon;
    for (let t = 1032; t <= 1600; t += 16) last = interpolator.sample(t)!;
    expect(last.x).toBeCloseTo(100, 2);
    expect(last.zoom).toBeCloseTo(2, 2);
    interpolator.clear();
    expect(interpolator.sample(2000)).toBeNull();
  });
});

describe('live figures', () => {
  it('counts events per second over a sliding window', () => {
    const meter = new RateMeter(1000);
    for (let t = 0; t < 2000; t += 10) meter.record(t);
    expect(meter.rate(1995)).toBeCloseTo(100, 0);
    expect(meter.rate(5000)).toBe(0);
    const young = new RateMeter(2000);
    for (let t = 0; t < 500; t += 10) young.record(t);
    expect(young.rate(500, 0)).toBeCloseTo(100, 0); // not 25: it watched for half a second
  });

  it('gives nearest-rank percentiles of the window', () => {
    const window = new LatencyWindow(1000);
    for (let i = 1; i <= 100; i++) window.record(i, 500);
    expect(window.percentiles([50, 90, 99, 100], 600)).toEqual([50, 90, 99, 100]);
    expect(window.count(600)).toBe(100);
    expect(window.percentile(50, 2000)).toBeNull();
  });
});

describe('decodeFrame', () => {
  const codec = msgpackrCodec(msgpackr);
  const update = { type: 'camera_update', camera: 'main', seq: 7, x: 1.5, y: 2, zoom: 1, target_x: 1.5, target_y: 2, target_zoom: 1, timestamp: 1_795_000_000_123 };

  it('reads text frames as JSON and binary frames as MessagePack, big integers as numbers', () => {
    expect(decodeFrame(JSON.stringify(update), null)).toEqual(update);
    const bytes = encode(update, { forceIntegerToFloat: false });
    expect(decodeFrame(bytes, codec)).toEqual(update);
    expect(typeof (decodeFrame(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), codec) as { timestamp: unknown }).timestamp).toBe('number');
    expect(codec.unpack(codec.pack({ type: 'subscribe', cameras: ['a'] }))).toEqual({ type: 'subscribe', cameras: ['a'] });
  });

  it('refuses what is not a message', () => {
    expect(() => decodeFrame(new Uint8Array([1]), null)).toThrow(DecodeError);
    expect(() => decodeFrame('[1,2]', null)).toThrow(/string "type"/);
    expect(() => decodeFrame({}, codec)).toThrow(/binaryType/);
  });
});

describe('TypedEvents', () => {
  class Emitter extends TypedEvents<{ ping: number }> {
    fire(n: number) {
      this.emit('ping', n);
    }
  }

  it('calls listeners, once-listeners once, and resolves next()', async () => {
    const emitter = new Emitter();
    const seen: number[] = [];
    const off = emitter.on('ping', (n) => seen.push(n));
    emitter.once('ping', (n) => seen.push(n * 10));
    const next = emitter.next('ping');
    emitter.fire(1);
    off();
    emitter.fire(2);
    expect(seen).toEqual([1, 10]);
    expect(await next).toBe(1);
  });
});
