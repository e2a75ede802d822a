// Hot-path micro benchmarks (benchmark.js): encoding and framing a camera state once per
// encoding, and the hub's fanout loop to 1,000 in-memory sockets, with the heap measured
// around a million sends to show the loop allocates nothing per client.
import Benchmark from 'benchmark';
import { cameraUpdateMessage, encodeFrame, encodeFramedPair } from '../src/protocol/encode.js';
import { encodeBatch, framesOf, type ReadyFrame } from '../src/protocol/ready-frame.js';
import { Hub } from '../src/fanout/hub.js';
import { MemoryTransport } from './memory-transport.js';
import type { CameraInput } from '../src/protocol/messages.js';

export interface MicroResult {
  name: string;
  opsPerSecond: number;
  /** Relative margin of error, percent. */
  rme: number;
  samples: number;
}

export interface AllocationResult {
  sends: number;
  clients: number;
  ticks: number;
  /** Heap in use before the loop (after a full GC). */
  heapBeforeBytes: number;
  /** Heap in use right after the loop, before any GC: everything the loop allocated is in it. */
  heapAfterBytes: number;
  /** Garbage collections that ran during the loop (0 makes the difference exact). */
  gcsDuringLoop: number;
  bytesPerSend: number;
  /** Bytes allocated per tick (one state to every client). */
  bytesPerTick: number;
  /** Heap in use after a full GC at the end: what the loop kept. */
  heapRetainedBytes: number;
}

const STATE: CameraInput = {
  camera: 'main', x: 1234.5678, y: -876.54321, zoom: 1.375, target_x: 1240.25, target_y: -870.5, target_zoom: 1.4, timestamp: 1_795_000_000_123,
};

function runSuite(suite: Benchmark.Suite, maxTimeS: number): Promise<MicroResult[]> {
  return new Promise((resolve) => {
    const results: MicroResult[] = [];
    suite.forEach((bench: Benchmark & { options: Benchmark.Options }) => {
      bench.options.maxTime = maxTimeS;
    });
    suite.on('cycle', (event: Benchmark.Event) => {
      const bench = event.target as unknown as Benchmark;
      results.push({ name: String(bench.name), opsPerSecond: bench.hz ?? 0, rme: bench.stats?.rme ?? 0, samples: bench.stats?.sample.length ?? 0 });
    });
    suite.on('complete', () => resolve(results));
    suite.run({ async: false });
  });
}

function readyFrame(seq: number): ReadyFrame {
  const [frame] = framesOf(encodeBatch([{ seq, value: { ...STATE, x: STATE.x + seq } }], []), () => 0);
  return frame!;
}

/** A hub with `clients` in-memory members, half JSON, half MessagePack, one camera. */
function hubWith(clients: number): { hub: Hub; transports: MemoryTransport[] } {
  const hub = new Hub({ maxHz: 60, burst: 2 });
  const transports: MemoryTransport[] = [];
  for (let i = 0; i < clients; i++) {
    const transport = new MemoryTransport();
    transports.push(transport);
    hub.join(i + 1, i % 2 === 0 ? 'json' : 'msgpack', transport, { cameras: new Set(['main']), maxHz: 60 });
  }
  return { hub, transports };
}

export async function microSuites(maxTimeS = 2): Promise<MicroResult[]> {
  let seq = 1;
  const encoding = new Benchmark.Suite('encode');
  encoding
    .add('encode camera state: JSON text + frame', () => {
      encodeFrame(cameraUpdateMessage(seq++, STATE), 'json');
    })
    .add('encode camera state: MessagePack + frame', () => {
      encodeFrame(cameraUpdateMessage(seq++, STATE), 'msgpack');
    })
    .add('encode camera state: both encodings, framed (once per state)', () => {
      encodeFramedPair(cameraUpdateMessage(seq++, STATE));
    })
    .add('store batch of 1 row: encode both + frame into one transferable buffer', () => {
      encodeBatch([{ seq: seq++, value: STATE }], []);
    });
  const results = await runSuite(encoding, maxTimeS);

  const { hub } = hubWith(1000);
  const frames = Array.from({ length: 64 }, (_, i) => readyFrame(i + 1));
  let next = 0;
  const fanout = new Benchmark.Suite('fanout');
  fanout.add('hub fanout: 1 state to 1,000 in-memory sockets (publish + flush)', () => {
    const frame = frames[next++ & 63]!;
    // The hub keeps only newer states; advance seq so every publish is delivered.
    hub.publish({ ...frame, seq: seq++ });
    hub.flush();
  });
  results.push(...(await runSuite(fanout, maxTimeS)));
  return results;
}

/**
 * Heap in use before and right after a million sends (1,000 ticks to 1,000 clients). With a
 * young generation large enough that no GC runs during the loop (node --max-semi-space-size),
 * the difference is every byte the loop allocated: per-tick bookkeeping only, nothing per
 * client. Run node with --expose-gc.
 */
export async function fanoutAllocation(clients = 1000, ticks = 1000): Promise<AllocationResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const { hub } = hubWith(clients);
  const frame = readyFrame(1);
  // One frame object per tick is the publisher's, not the loop's: made before measuring.
  const tickFrames = Array.from({ length: ticks }, (_, i) => ({ ...frame, seq: 100 + i }));
  hub.publish({ ...frame, seq: 2 });
  hub.flush();
  const { PerformanceObserver } = await import('node:perf_hooks');
  let gcs = 0;
  const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  gc();
  gc();
  observer.observe({ entryTypes: ['gc'] });
  await new Promise((resolve) => setImmediate(resolve));
  gcs = 0;
  const sentBefore = hub.counters.sent.json + hub.counters.sent.msgpack;
  const heapBeforeBytes = process.memoryUsage().heapUsed;
  for (let i = 0; i < ticks; i++) {
    hub.publish(tickFrames[i]!);
    hub.flush();
  }
  const heapAfterBytes = process.memoryUsage().heapUsed;
  const sends = hub.counters.sent.json + hub.counters.sent.msgpack - sentBefore;
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 10));
  observer.disconnect();
  tickFrames.length = 0;
  gc();
  gc();
  return {
    sends,
    clients,
    ticks,
    heapBeforeBytes,
    heapAfterBytes,
    gcsDuringLoop: gcs,
    bytesPerSend: (heapAfterBytes - heapBeforeBytes) / sends,
    bytesPerTick: (heapAfterBytes - heapBeforeBytes) / ticks,
    heapRetainedBytes: process.memoryUsage().heapUsed - heapBeforeBytes,
  };
}
