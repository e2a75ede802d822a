// The fanout hub with in-memory transports: framed-once batches per audience group,
// snapshots, conflation under backpressure and per-group throttling (docs/protocol.md 4 and 6).
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub } from '../../src/fanout/hub.js';
import type { Transport } from '../../src/fanout/client.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';

class MemoryTransport extends EventEmitter implements Transport {
  readonly writes: Buffer[] = [];
  writableNeedDrain = false;
  writableLength = 0;
  destroyed = false;
  open = true;
  corks = 0;
  uncorks = 0;

  write(data: Buffer): boolean {
    this.writes.push(data);
    return !this.writableNeedDrain;
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    this.uncorks++;
  }

  /** The socket buffer emptied: what a net.Socket does after backpressure. */
  drain(): void {
    this.writableNeedDrain = false;
    this.emit('drain');
  }

  /** Every message written, in order, however the writes were batched. */
  messages(): string[] {
    return Buffer.concat(this.writes)
      .toString()
      .split(';')
      .filter((m) => m !== '');
  }
}

// Each frame's bytes name it, and end with ';' so that a batch splits back into frames.
function cameraFrame(camera: string, seq: number, origin = 0): ReadyFrame {
  return {
    kind: 'camera',
    camera,
    seq,
    timestamp: seq,
    json: Buffer.from(`J:${camera}:${seq};`),
    msgpack: Buffer.from(`M:${camera}:${seq};`),
    legacy: Buffer.from(`L:${camera}:${seq};`),
    origin,
  };
}

function tileFrame(seq: number): ReadyFrame {
  return { kind: 'tile', camera: '', seq, timestamp: seq, json: Buffer.from(`J:tile:${seq};`), msgpack: Buffer.from(`M:tile:${seq};`), legacy: Buffer.from(`L:tile:${seq};`), origin: 0 };
}

const cams = (...ids: string[]) => new Set(ids);

let nextId = 1;
function join(hub: Hub, cameras: Set<string> | null, options: { encoding?: 'json' | 'msgpack'; maxHz?: number; greeting?: Buffer } = {}) {
  const transport = new MemoryTransport();
  const id = nextId++;
  const client = hub.join(id, options.encoding ?? 'json', transport, { cameras, maxHz: options.maxHz ?? 60 }, options.greeting);
  return { id, transport, client };
}

function groupCount(hub: Hub): number {
  return (hub as unknown as { groups: Map<string, unknown> }).groups.size;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Hub: framed once, batched per group', () => {
  it('writes the very same Buffer instance to every member of a group', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const members = [join(hub, cams('A')), join(hub, cams('A')), join(hub, cams('A'))];
    const A1 = cameraFrame('A', 1);
    hub.publish(A1);
    hub.flush();
    for (const { transport } of members) {
      expect(transport.writes).toHaveLength(1);
      // Not a copy: the frame's own bytes, as encoded and framed upstream.
      expect(transport.writes[0]).toBe(A1.json);
    }
  });

  it('writes several cameras due in one tick as one buffer, built once for the group', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const first = join(hub, cams('A', 'B', 'C'));
    const second = join(hub, cams('C', 'B', 'A')); // same set, other order: same group
    const frames = [cameraFrame('A', 1), cameraFrame('B', 2), cameraFrame('C', 3)];
    for (const frame of frames) hub.publish(frame);
    hub.flush();
    expect(first.transport.writes).toHaveLength(1);
    expect(second.transport.writes).toHaveLength(1);
    expect(first.transport.writes[0]).toBe(second.transport.writes[0]);
    expect(first.transport.writes[0]!.equals(Buffer.concat(frames.map((f) => f.json)))).toBe(true);
    expect(hub.counters.sent.json).toBe(6);
  });

  it('gives JSON members the JSON frames and MessagePack members the MessagePack frames', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const json = join(hub, cams('A'), { encoding: 'json' });
    const msgpack = join(hub, cams('A'), { encoding: 'msgpack' });
    const A1 = cameraFrame('A', 1);
    hub.publish(A1);
    hub.publish(tileFrame(10));
    hub.flush();
    expect(json.transport.messages()).toEqual(['J:A:1', 'J:tile:10']);
    expect(msgpack.transport.messages()).toEqual(['M:A:1', 'M:tile:10']);
    expect(hub.counters.sent).toEqual({ json: 2, msgpack: 2, legacy: 0 });
  });

  it("sends every camera to a '*' subscriber and only the chosen ones to others", () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const all = join(hub, null);
    const onlyB = join(hub, cams('B'));
    for (const camera of ['A', 'B', 'C']) hub.publish(cameraFrame(camera, camera.charCodeAt(0)));
    hub.flush();
    expect(all.transport.messages()).toEqual(['J:A:65', 'J:B:66', 'J:C:67']);
    expect(onlyB.transport.messages()).toEqual(['J:B:66']);
  });

  it('delivers on its own at the end of the turn (setImmediate)', async () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const { transport } = join(hub, cams('A'));
    hub.publish(cameraFrame('A', 1));
    hub.publish(cameraFrame('A', 2));
    expect(transport.writes).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.writes).toHaveLength(1);
    expect(transport.messages()).toEqual(['J:A:1', 'J:A:2']);
  });

  it('ignores a camera state that is not newer than the one it knows', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const { transport } = join(hub, cams('A'));
    hub.publish(cameraFrame('A', 5));
    hub.publish(cameraFrame('A', 3));
    hub.publish(cameraFrame('A', 5));
    hub.flush();
    expect(transport.messages()).toEqual(['J:A:5']);
  });
});

describe('Hub: snapshots', () => {
  it('writes the greeting first, then the latest state of each subscribed camera, in one cork', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    for (const frame of [cameraFrame('A', 1), cameraFrame('B', 2), cameraFrame('A', 3), cameraFrame('C', 4)]) hub.publish(frame);
    hub.flush();
    const { transport } = join(hub, cams('A', 'B', 'Z'), { greeting: Buffer.from('hello;') });
    expect(transport.messages()).toEqual(['hello', 'J:A:3', 'J:B:2']);
    expect(transport.corks).toBe(1);
    expect(transport.uncorks).toBe(1);
  });

  it("gives a '*' subscriber the latest state of every known camera", () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    hub.seed([cameraFrame('A', 1), cameraFrame('B', 2)]);
    const { transport } = join(hub, null);
    expect(transport.messages().sort()).toEqual(['J:A:1', 'J:B:2']);
  });

  it('does not send a state twice to a client that joins between publish and flush', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const early = join(hub, cams('A'));
    hub.publish(cameraFrame('A', 1));
    hub.flush();
    hub.publish(cameraFrame('A', 2));
    // The group still holds A:2 for this tick; the newcomer gets it in its snapshot.
    const late = join(hub, cams('A'));
    hub.flush();
    expect(early.transport.messages()).toEqual(['J:A:1', 'J:A:2']);
    expect(late.transport.messages()).toEqual(['J:A:2']);
    hub.publish(cameraFrame('A', 3));
    hub.flush();
    expect(late.transport.messages()).toEqual(['J:A:2', 'J:A:3']);
  });

  it('sends on resubscribe only the snapshots of newly subscribed cameras', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    hub.seed([cameraFrame('A', 1), cameraFrame('B', 2), cameraFrame('C', 3)]);
    const { transport, client } = join(hub, cams('A'));
    expect(transport.messages()).toEqual(['J:A:1']);

    hub.resubscribe(client, { cameras: cams('A', 'B'), maxHz: 60 });
    expect(transport.messages()).toEqual(['J:A:1', 'J:B:2']);

    hub.resubscribe(client, { cameras: null, maxHz: 60 });
    expect(transport.messages()).toEqual(['J:A:1', 'J:B:2', 'J:C:3']);

    // Narrowing sends nothing, and the dropped cameras stop arriving.
    hub.resubscribe(client, { cameras: cams('B'), maxHz: 60 });
    hub.publish(cameraFrame('A', 4));
    hub.publish(cameraFrame('B', 5));
    hub.flush();
    expect(transport.messages()).toEqual(['J:A:1', 'J:B:2', 'J:C:3', 'J:B:5']);
  });
});

describe('Hub: backpressure (conflation per client)', () => {
  it('keeps only the newest state per camera until drain, then writes it', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const slow = join(hub, cams('A'));
    const fast = join(hub, cams('A'));
    slow.transport.writableNeedDrain = true;
    const coalescedBefore = hub.counters.coalesced;
    for (let seq = 1; seq <= 100; seq++) {
      hub.publish(cameraFrame('A', seq));
      if (seq % 10 === 0) hub.flush(); // several ticks, several frames per tick
    }
    expect(slow.transport.writes).toHaveLength(0);
    // The other member of the same group is not held back by the slow one.
    expect(fast.transport.messages()).toHaveLength(100);

    slow.transport.drain();
    expect(slow.transport.messages()).toEqual(['J:A:100']);
    expect(hub.counters.coalesced - coalescedBefore).toBe(99);

    hub.publish(cameraFrame('A', 101));
    hub.flush();
    expect(slow.transport.messages()).toEqual(['J:A:100', 'J:A:101']);
  });

  it('keeps the newest state of each camera separately', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const slow = join(hub, null);
    slow.transport.writableNeedDrain = true;
    for (const frame of [cameraFrame('A', 1), cameraFrame('B', 2), cameraFrame('A', 3), cameraFrame('B', 4)]) hub.publish(frame);
    hub.flush();
    slow.transport.drain();
    expect(slow.transport.messages().sort()).toEqual(['J:A:3', 'J:B:4']);
  });

  it('queues tiles in order in its own backlog while camera states are held back, and writes both on drain', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const slow = join(hub, cams('A'));
    slow.transport.writableNeedDrain = true;
    hub.publish(cameraFrame('A', 1));
    hub.publish(tileFrame(2));
    hub.publish(cameraFrame('A', 3));
    hub.publish(tileFrame(4));
    hub.flush();
    hub.publish(tileFrame(5));
    hub.flush();
    // Nothing goes to a socket that asked to wait: not into Node's writable buffer either.
    expect(slow.transport.writes).toHaveLength(0);
    expect(slow.client.backlogBytes).toBe(3 * 'J:tile:2;'.length);
    slow.transport.drain();
    // The newest state first, then every tile in order, the tiles in one write.
    expect(slow.transport.messages()).toEqual(['J:A:3', 'J:tile:2', 'J:tile:4', 'J:tile:5']);
    expect(slow.transport.writes).toHaveLength(2);
    expect(slow.client.backlogBytes).toBe(0);
  });
});

describe('Hub: the bound on what a client is owed (--slow-consumer-bytes)', () => {
  function slowWithLimit(hub: Hub, maxBytes: number, overflowed: (held: number) => void) {
    const transport = new MemoryTransport();
    const client = hub.join(nextId++, 'json', transport, { cameras: null, maxHz: 60 }, undefined, { maxBytes, overflowed });
    return { transport, client };
  }

  it('drops the backlog at once when a frame would pass the bound, writes nothing more, and reports it once, later', async () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const reports: number[] = [];
    const slow = slowWithLimit(hub, 36, (held) => reports.push(held));
    const fast = join(hub, null);
    slow.transport.writableNeedDrain = true;
    for (let seq = 1; seq <= 4; seq++) hub.publish(tileFrame(seq)); // 9 bytes each: 36 fit
    hub.flush();
    expect(slow.client.backlogBytes).toBe(36);
    hub.publish(tileFrame(5));
    hub.publish(cameraFrame('A', 6));
    hub.flush();
    expect(slow.client.backlogBytes).toBe(0);
    expect(slow.client.isEnded).toBe(true);
    expect(reports).toEqual([]); // not from inside the delivery
    await new Promise((resolve) => setImmediate(resolve));
    expect(reports).toEqual([45]);
    slow.transport.drain();
    expect(slow.transport.writes).toHaveLength(0);
    // Everyone else got everything.
    expect(fast.transport.messages()).toEqual(['J:tile:1', 'J:tile:2', 'J:tile:3', 'J:tile:4', 'J:tile:5', 'J:A:6']);
  });

  it('counts messages and acks alike towards the bound, camera states not (they conflate)', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const slow = slowWithLimit(hub, 30, () => undefined);
    slow.transport.writableNeedDrain = true;
    for (let seq = 1; seq <= 50; seq++) hub.publish(cameraFrame('A', seq));
    hub.flush();
    expect(slow.client.backlogBytes).toBe(0);
    slow.client.send(Buffer.from('ack:1;'));
    expect(slow.client.backlogBytes).toBe(6);
    slow.transport.drain();
    expect(slow.transport.messages()).toEqual(['J:A:50', 'ack:1']);
  });
});

describe('Hub: the WebSocket closing handshake (RFC 6455 section 5.5.1)', () => {
  it('writes nothing once the connection is no longer open, and drops what was owed', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const client = join(hub, null);
    hub.publish(tileFrame(1));
    hub.flush();
    client.transport.writableNeedDrain = true;
    hub.publish(tileFrame(2));
    hub.publish(cameraFrame('A', 3));
    hub.flush();
    expect(client.client.backlogBytes).toBeGreaterThan(0);
    // A Close was sent or received: ws leaves OPEN.
    client.transport.open = false;
    hub.publish(tileFrame(4));
    hub.flush();
    client.transport.drain();
    client.client.send(Buffer.from('ack:9;'));
    client.client.sendIfCaughtUp(Buffer.from('heartbeat;'));
    expect(client.transport.messages()).toEqual(['J:tile:1']);
    expect(client.client.backlogBytes).toBe(0);
    expect(client.client.pending).toBeNull();
  });

  it('does not send a heartbeat to a client that is behind (it would wait behind the backlog)', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const client = join(hub, null);
    client.transport.writableNeedDrain = true;
    client.client.sendIfCaughtUp(Buffer.from('heartbeat;'));
    client.transport.drain();
    client.client.sendIfCaughtUp(Buffer.from('heartbeat;'));
    expect(client.transport.messages()).toEqual(['heartbeat']);
  });
});

describe('Hub: producers', () => {
  it("does not echo a producer's own state to it, but sends it to everyone else", () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const producer = join(hub, cams('A'));
    const viewer = join(hub, cams('A'));
    hub.publish(cameraFrame('A', 1, producer.id));
    hub.flush();
    expect(producer.transport.writes).toHaveLength(0);
    expect(viewer.transport.messages()).toEqual(['J:A:1']);

    hub.publish(cameraFrame('A', 2));
    hub.flush();
    expect(producer.transport.messages()).toEqual(['J:A:2']);
    expect(viewer.transport.messages()).toEqual(['J:A:1', 'J:A:2']);
  });
});

describe('Hub: throttled groups (max_hz below the server maximum)', () => {
  const START = 1_700_000_000_000;

  function fakeClock() {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'], now: START });
    return new Hub({ maxHz: 60, burst: 2, now: () => Date.now() });
  }

  // @sinonjs/fake-timers runs a zero-delay timer created while it is firing timers (the
  // hub's setImmediate flush, scheduled by a throttle timer) 1 ms later, to avoid endless
  // loops; real setImmediate runs it at once. Bounds on fake time allow for that 1 ms.
  const FAKE_IMMEDIATE_MS = 1;

  /** Lets `ms` pass, plus the flush that a timer firing at the very end scheduled. */
  function elapse(ms: number): void {
    vi.advanceTimersByTime(ms + FAKE_IMMEDIATE_MS);
  }

  it('sends the first state at once, then at most rate * time + a quarter second of states, and always the last', () => {
    const hub = fakeClock();
    const slowRate = join(hub, cams('A'), { maxHz: 10 });
    const fullRate = join(hub, cams('A'), { maxHz: 60 });
    const received: Array<[number, string]> = [];
    const original = slowRate.transport.write.bind(slowRate.transport);
    slowRate.transport.write = (data: Buffer) => {
      received.push([Date.now() - START, data.toString()]);
      return original(data);
    };

    // One second of a 60 Hz producer.
    for (let seq = 1; seq <= 60; seq++) {
      hub.publish(cameraFrame('A', seq));
      vi.advanceTimersByTime(seq % 3 === 0 ? 16 : 17);
    }
    const lastPublishedAt = Date.now() - START - 16;
    elapse(1000);

    expect(received[0]).toEqual([0, 'J:A:1;']); // leading edge, not held for a window
    // The sustained bucket holds a quarter of a second of states (3 at 10 Hz).
    received.forEach(([at], i) => expect(i + 1).toBeLessThanOrEqual((10 * at) / 1000 + 3));
    const seqs = received.map(([, m]) => Number(m.split(':')[2]!.replace(';', '')));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const [lastAt, lastMessage] = received.at(-1)!;
    expect(lastMessage).toBe('J:A:60;');
    expect(lastAt - lastPublishedAt).toBeLessThanOrEqual(100 + FAKE_IMMEDIATE_MS);
    expect(hub.counters.coalesced).toBe(60 - received.length);
    // The full-rate group is not throttled again here (the stream graph did that).
    expect(fullRate.transport.messages()).toHaveLength(60);
  });

  it('drops a camera\'s rate gate once nothing waits and its bucket is full again, and still delivers every newest state', () => {
    const hub = fakeClock();
    const { client, transport } = join(hub, null, { maxHz: 10 });
    const gates = () => (client.group as unknown as { gates: Map<string, unknown> }).gates;
    // 10 Hz, burst 2: the sustained bucket (3 states) is full again 300 ms after a pass.
    const FILL = 300;
    // 1,000 cameras once each, and camera A three times at once (two pass, one waits).
    for (let i = 0; i < 1000; i++) hub.publish(cameraFrame(`cam-${i}`, i + 1));
    for (let seq = 2001; seq <= 2003; seq++) hub.publish(cameraFrame('A', seq));
    elapse(0);
    expect(gates().size).toBe(1001);
    elapse(FILL - 1);
    // A's third state waited for a token and went out later: its gate is not full yet.
    expect(transport.messages().filter((m) => m.startsWith('J:A:'))).toEqual(['J:A:2001', 'J:A:2002', 'J:A:2003']);
    expect([...gates().keys()]).toEqual(['A']);
    elapse(FILL);
    expect(gates().size).toBe(0);
    expect(transport.messages()).toHaveLength(1003);
    // A camera seen again gets a new gate, which passes its state at once (leading edge).
    hub.publish(cameraFrame('cam-5', 3000));
    elapse(0);
    expect(transport.messages().at(-1)).toBe('J:cam-5:3000');
  });

  it('lets every state through that comes no faster than the group rate (rule 5)', () => {
    const hub = fakeClock();
    const { transport } = join(hub, cams('A'), { maxHz: 10 });
    // 10 Hz with jitter: 0, 95, 210, 290, 405 ms.
    const times = [0, 95, 210, 290, 405];
    let now = 0;
    times.forEach((at, i) => {
      vi.advanceTimersByTime(at - now);
      now = at;
      hub.publish(cameraFrame('A', i + 1));
      hub.flush();
    });
    expect(transport.messages()).toEqual(['J:A:1', 'J:A:2', 'J:A:3', 'J:A:4', 'J:A:5']);
  });

  it('throttles each camera on its own within a group', () => {
    const hub = fakeClock();
    const { transport } = join(hub, null, { maxHz: 10 });
    for (let seq = 1; seq <= 5; seq++) hub.publish(cameraFrame('A', seq));
    hub.publish(cameraFrame('B', 6));
    hub.flush();
    expect(transport.messages()).toEqual(['J:A:1', 'J:A:2', 'J:B:6']);
    elapse(100);
    expect(transport.messages()).toEqual(['J:A:1', 'J:A:2', 'J:B:6', 'J:A:5']);
  });

  it('does not send a waiting state twice to a client whose snapshot already had it', () => {
    const hub = fakeClock();
    join(hub, cams('A'), { maxHz: 10 });
    for (let seq = 1; seq <= 5; seq++) hub.publish(cameraFrame('A', seq));
    hub.flush();
    // A:5 waits in the group for a token; the newcomer's snapshot is A:5 already.
    const late = join(hub, cams('A'), { maxHz: 10 });
    elapse(200);
    expect(late.transport.messages()).toEqual(['J:A:5']);
  });
});

describe('Hub: resubscribe keeps the delivery guarantees of the cameras kept', () => {
  // A resubscribe moves the client to another group (or a new one). States of a camera the
  // client keeps, that the old group still owed it, must not be lost with the old group
  // (rule 3), and states the new group still holds must not reach it twice (rule 1).

  it('delivers a kept camera\'s state that was due this tick in the old group', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const { transport, client } = join(hub, cams('A'));
    hub.publish(cameraFrame('A', 1));
    hub.resubscribe(client, { cameras: cams('A', 'B'), maxHz: 60 });
    hub.flush();
    expect(transport.messages()).toEqual(['J:A:1']);
  });

  it('delivers a kept camera\'s final state that waited for a token in the old group', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    const hub = new Hub({ maxHz: 60, burst: 2, now: () => Date.now() });
    const { transport, client } = join(hub, cams('A'), { maxHz: 10 });
    for (let seq = 1; seq <= 5; seq++) hub.publish(cameraFrame('A', seq));
    hub.flush();
    expect(transport.messages()).toEqual(['J:A:1', 'J:A:2']);
    hub.resubscribe(client, { cameras: cams('A', 'B'), maxHz: 10 });
    vi.advanceTimersByTime(1000);
    expect(transport.messages().at(-1)).toBe('J:A:5');
  });

  it('does not send again a kept camera\'s state that the new group still holds', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    const hub = new Hub({ maxHz: 60, burst: 2, now: () => Date.now() });
    join(hub, cams('A'), { maxHz: 10 }); // keeps the 10 Hz group alive
    const mover = join(hub, cams('A'), { maxHz: 60 });
    for (let seq = 1; seq <= 5; seq++) hub.publish(cameraFrame('A', seq));
    hub.flush();
    // The 60 Hz client has A:5; the 10 Hz group still waits to send A:5.
    expect(mover.transport.messages().at(-1)).toBe('J:A:5');
    hub.resubscribe(mover.client, { cameras: cams('A'), maxHz: 10 });
    vi.advanceTimersByTime(1000);
    expect(mover.transport.messages()).toEqual(['J:A:1', 'J:A:2', 'J:A:3', 'J:A:4', 'J:A:5']);
  });

  it('never writes a kept camera\'s owed state ahead of an older one pending under backpressure', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    hub.seed([cameraFrame('B', 1)]);
    const { transport, client } = join(hub, cams('A'));
    transport.writableNeedDrain = true;
    hub.publish(cameraFrame('A', 2));
    hub.flush(); // A:2 pending on the client
    hub.publish(cameraFrame('A', 3)); // due in the old group
    hub.resubscribe(client, { cameras: cams('A', 'B'), maxHz: 60 });
    hub.flush();
    transport.drain();
    expect(transport.messages()).toEqual(['J:A:3', 'J:B:1']);
  });

  it('keeps the snapshot mark of a client that resubscribes before the flush', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    join(hub, cams('A'));
    hub.publish(cameraFrame('A', 1));
    const late = join(hub, cams('A'));
    hub.resubscribe(late.client, { cameras: cams('A'), maxHz: 60 });
    hub.flush();
    expect(late.transport.messages()).toEqual(['J:A:1']);
  });
});

describe('Hub: leave', () => {
  it('stops delivery to the client that left and keeps delivering to the rest', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const members = [join(hub, cams('A')), join(hub, cams('A')), join(hub, cams('A'))];
    hub.leave(members[0]!.client);
    hub.publish(cameraFrame('A', 1));
    hub.flush();
    expect(members[0]!.transport.writes).toHaveLength(0);
    expect(members[1]!.transport.messages()).toEqual(['J:A:1']);
    expect(members[2]!.transport.messages()).toEqual(['J:A:1']);
    expect(hub.clients.size).toBe(2);
  });

  it('removes a group when its last member leaves, with its timers', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    const hub = new Hub({ maxHz: 60, burst: 1, now: () => Date.now() });
    const a = join(hub, cams('A'), { maxHz: 10 });
    const b = join(hub, null);
    expect(groupCount(hub)).toBe(2);
    hub.publish(cameraFrame('A', 1));
    hub.publish(cameraFrame('A', 2)); // waits for a token in the 10 Hz group: a timer
    hub.leave(a.client);
    hub.leave(b.client);
    expect(groupCount(hub)).toBe(0);
    expect(hub.clients.size).toBe(0);
    vi.runAllTimers();
    expect(a.transport.writes).toHaveLength(0);
    expect(b.transport.writes).toHaveLength(0);
  });

  it('drops what a backpressured client had pending when it leaves', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const slow = join(hub, cams('A'));
    slow.transport.writableNeedDrain = true;
    hub.publish(cameraFrame('A', 1));
    hub.flush();
    hub.leave(slow.client);
    slow.transport.drain();
    expect(slow.transport.writes).toHaveLength(0);
  });
});
