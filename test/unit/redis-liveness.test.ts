// The liveness check of a Redis connection (src/bus/redis/liveness.ts) on a virtual
// clock: when it asks, when it declares a connection dead, and what does not count.
// The real connections, sockets and a frozen path are in test/e2e/redis-liveness.test.ts.
import { describe, expect, it } from 'vitest';
import { ConnectionLiveness, LIVENESS_INTERVAL_MS, LIVENESS_TIMEOUT_MS, type LivenessTimers } from '../../src/bus/redis/liveness.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Virtual time: timers run in order when the test advances the clock. */
class VirtualTimers implements LivenessTimers {
  now = 0;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;
  private afterInputs: Array<() => void> = [];
  /** Input read between a timer and the callbacks waiting for it (a busy event loop's backlog). */
  input: (() => void) | null = null;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  afterInput(callback: () => void): void {
    this.afterInputs.push(callback);
  }

  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    for (;;) {
      let first: [number, { at: number; callback: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= until && (first === null || entry[1].at < first[1].at)) first = entry;
      if (first === null) break;
      this.timers.delete(first[0]);
      this.now = first[1].at;
      first[1].callback();
      await flush();
      if (this.afterInputs.length > 0) {
        this.input?.();
        this.input = null;
        await flush();
        for (const callback of this.afterInputs.splice(0)) callback();
        await flush();
      }
    }
    this.now = until;
  }
}

type Reply = 'answer' | 'silent' | 'error-reply' | 'timeout';

/** A stand-in for an ioredis connection: its status, its socket, and how it answers PING. */
class Connection {
  status = 'ready';
  stream: object = {};
  reply: Reply = 'answer';
  pings: number[] = [];
  /** Answers of silent PINGs, to deliver late. */
  pending: Array<() => void> = [];

  constructor(private readonly timers: VirtualTimers) {}

  ping(): Promise<unknown> {
    this.pings.push(this.timers.now);
    switch (this.reply) {
      case 'answer':
        return Promise.resolve('PONG');
      case 'error-reply':
        return Promise.reject(Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' }));
      case 'timeout':
        return Promise.reject(new Error('Command timed out'));
      default:
        return new Promise((resolve) => this.pending.push(() => resolve('PONG')));
    }
  }
}

function setUp() {
  const timers = new VirtualTimers();
  const connection = new Connection(timers);
  const dead: Array<{ at: number; reason: string }> = [];
  const liveness = new ConnectionLiveness(connection, { timers, onDead: (reason) => dead.push({ at: timers.now, reason }) });
  liveness.start();
  return { timers, connection, dead, liveness };
}

describe('redis connection liveness', () => {
  it('asks a connection that answers once per interval and never declares it dead', async () => {
    const { timers, connection, dead } = setUp();
    await timers.advance(60_000);
    expect(dead).toEqual([]);
    expect(connection.pings.length).toBe(60_000 / LIVENESS_INTERVAL_MS);
  });

  it('declares a connection that stops answering dead within interval + timeout, and again while it stays so', async () => {
    const { timers, connection, dead } = setUp();
    await timers.advance(10_500);
    connection.reply = 'silent';
    await timers.advance(LIVENESS_INTERVAL_MS + LIVENESS_TIMEOUT_MS);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.at - 10_500).toBeLessThanOrEqual(LIVENESS_INTERVAL_MS + LIVENESS_TIMEOUT_MS);
    expect(dead[0]!.reason).toBe(`no reply to PING in ${LIVENESS_TIMEOUT_MS} ms`);
    await timers.advance(LIVENESS_INTERVAL_MS + LIVENESS_TIMEOUT_MS);
    expect(dead).toHaveLength(2);
  });

  it('counts a client-side timeout as no answer, and an error reply from Redis as one', async () => {
    const silent = setUp();
    silent.connection.reply = 'timeout';
    await silent.timers.advance(LIVENESS_INTERVAL_MS + LIVENESS_TIMEOUT_MS);
    expect(silent.dead).toHaveLength(1);

    const loading = setUp();
    loading.connection.reply = 'error-reply';
    await loading.timers.advance(30_000);
    expect(loading.dead).toEqual([]);
  });

  it('counts a reply read after the deadline fired, when the event loop was busy, as an answer', async () => {
    const { timers, connection, dead } = setUp();
    connection.reply = 'silent';
    await timers.advance(LIVENESS_INTERVAL_MS);
    timers.input = () => connection.pending.shift()!();
    await timers.advance(LIVENESS_TIMEOUT_MS);
    expect(dead).toEqual([]);
  });

  it('does not ask a connection that is not ready, nor judge a socket that was replaced meanwhile', async () => {
    const { timers, connection, dead } = setUp();
    connection.status = 'reconnecting';
    await timers.advance(10_000);
    expect(connection.pings).toEqual([]);

    connection.status = 'ready';
    connection.reply = 'silent';
    await timers.advance(LIVENESS_INTERVAL_MS);
    expect(connection.pings).toHaveLength(1);
    connection.stream = {}; // closed and reconnected before the deadline
    connection.reply = 'answer';
    await timers.advance(10_000);
    expect(dead).toEqual([]);
  });

  it('after stop, asks nothing more and an outstanding PING decides nothing', async () => {
    const { timers, connection, dead, liveness } = setUp();
    connection.reply = 'silent';
    await timers.advance(LIVENESS_INTERVAL_MS);
    liveness.stop();
    await timers.advance(60_000);
    expect(dead).toEqual([]);
    expect(connection.pings).toHaveLength(1);
  });
});
