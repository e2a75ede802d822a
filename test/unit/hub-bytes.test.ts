// The hub's bytes-sent counter equals the bytes its sockets were given, on every path: the
// batch written once per member, the frame-by-frame path (a producer not echoed to itself),
// and the conflated frames flushed when a backpressured socket drains.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../src/fanout/hub.js';
import type { Transport } from '../../src/fanout/client.js';
import type { ReadyFrame } from '../../src/protocol/ready-frame.js';

class CountingTransport extends EventEmitter implements Transport {
  bytes = 0;
  writableNeedDrain = false;
  writableLength = 0;
  destroyed = false;
  open = true;

  write(data: Buffer): boolean {
    this.bytes += data.length;
    return !this.writableNeedDrain;
  }

  cork(): void {}
  uncork(): void {}

  drain(): void {
    this.writableNeedDrain = false;
    this.emit('drain');
  }
}

function camera(camera: string, seq: number, origin = 0): ReadyFrame {
  // Sizes differ per frame and encoding, so a count by frames alone would not match.
  return { kind: 'camera', camera, seq, timestamp: seq, json: Buffer.alloc(20 + seq), msgpack: Buffer.alloc(10 + 2 * seq), legacy: Buffer.alloc(20 + seq), origin };
}

function tile(seq: number): ReadyFrame {
  return { kind: 'tile', camera: '', seq, timestamp: seq, json: Buffer.alloc(30 + seq), msgpack: Buffer.alloc(15 + seq), legacy: Buffer.alloc(30 + seq), origin: 0 };
}

let nextId = 1;
function join(hub: Hub, encoding: 'json' | 'msgpack') {
  const transport = new CountingTransport();
  const id = nextId++;
  const client = hub.join(id, encoding, transport, { cameras: null, maxHz: 60 });
  return { id, transport, client };
}

const total = (members: Array<{ transport: CountingTransport }>) => members.reduce((n, m) => n + m.transport.bytes, 0);

describe('Hub: bytes sent', () => {
  it('counts a batch written to every member as its length times the members', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const json = [join(hub, 'json'), join(hub, 'json'), join(hub, 'json')];
    const msgpack = [join(hub, 'msgpack'), join(hub, 'msgpack')];
    for (const frame of [camera('A', 1), camera('B', 2), tile(3)]) hub.publish(frame);
    hub.flush();
    expect(hub.counters.bytes.json).toBe(total(json));
    expect(hub.counters.bytes.json).toBe(3 * (21 + 22 + 33));
    expect(hub.counters.bytes.msgpack).toBe(total(msgpack));
  });

  it('counts only what each member got when a frame is not echoed to its producer', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const members = [join(hub, 'json'), join(hub, 'json'), join(hub, 'json')];
    hub.publish(camera('A', 1, members[0]!.id));
    hub.publish(camera('B', 2));
    hub.flush();
    expect(members[0]!.transport.bytes).toBe(22);
    expect(hub.counters.bytes.json).toBe(total(members));
    expect(hub.counters.sent.json).toBe(5);
  });

  it('counts conflated frames when they are flushed on drain, and not before', () => {
    const hub = new Hub({ maxHz: 60, burst: 2 });
    const fast = join(hub, 'msgpack');
    const slow = join(hub, 'msgpack');
    slow.transport.writableNeedDrain = true;
    for (let seq = 1; seq <= 5; seq++) {
      hub.publish(camera('A', seq));
      hub.flush();
    }
    expect(slow.transport.bytes).toBe(0);
    expect(hub.counters.bytes.msgpack).toBe(fast.transport.bytes);
    slow.transport.drain();
    expect(slow.transport.bytes).toBe(10 + 2 * 5); // only the newest state
    expect(hub.counters.bytes.msgpack).toBe(total([fast, slow]));
  });
});
