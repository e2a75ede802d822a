// One connected client as the hub sees it: where its bytes go, what it asked for, and what it
// is owed while its socket is backpressured (conflated camera states, a bounded backlog).
import type { FrameFormat } from '../protocol/legacy.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { Backlog } from './backlog.js';

/**
 * The parts of a connection the hub writes to: a socket (net.Socket and tls.TLSSocket fit)
 * and whether the WebSocket is still open, so that nothing is written once a Close frame was
 * sent or received (RFC 6455 section 5.5.1). `WebSocketTransport` is the one used in service.
 */
export interface Transport {
  /** Writes whole pre-framed WebSocket frames (RFC 6455 section 5.2); false when the socket's buffer is past its high-water mark. */
  write(data: Buffer): boolean;
  /** Buffers writes until `uncork`, so that several frames leave in one TCP write. */
  cork(): void;
  /** Ends a `cork`. */
  uncork(): void;
  /** Bytes in the socket's own write buffer (Node's, not the client's backlog). */
  readonly writableLength: number;
  /** True once a write returned false, until 'drain': the socket is backpressured. */
  readonly writableNeedDrain: boolean;
  /** The socket is destroyed: nothing will be written. */
  readonly destroyed: boolean;
  /** False from the moment the closing handshake begins (either side) or the connection is gone. */
  readonly open: boolean;
  /** Calls `listener` once when the socket's buffer has emptied after backpressure. */
  once(event: 'drain', listener: () => void): unknown;
}

/** What a client asked for (upgrade query or `subscribe` message, docs/protocol.md sections 3 and 5). */
export interface Subscription {
  /** null: every camera ("*"). */
  cameras: ReadonlySet<string> | null;
  /** Most camera states per second per camera for this client (`max_hz`, already clamped to --max-hz). */
  maxHz: number;
  /** false: no tile updates at all (`tiles=none`, docs/protocol.md section 9); absent: tiles too. */
  tiles?: boolean;
}

/** Whether `subscription` covers `camera` (always for "*"). */
export function subscribes(subscription: Subscription, camera: string): boolean {
  return subscription.cameras === null || subscription.cameras.has(camera);
}

/** What a client reports to its hub about frames it handles on its own (under backpressure). */
export interface ClientHooks {
  /** `count` pending camera states were replaced by newer ones (for the coalesced counter). */
  coalesced(count: number): void;
  /** `count` camera or tile messages, `bytes` of them, were written from the client's own queue. */
  sent(encoding: FrameFormat, count: number, bytes: number): void;
  /** The hub's clock (ms). */
  now(): number;
}

/** The default of `--slow-consumer-bytes` (bytes). */
const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

/** How much a client may be owed, and who hears when it is owed more. */
export interface BacklogLimit {
  /**
   * Most bytes of tiles and messages held for a client whose socket does not take them
   * (`--slow-consumer-bytes`; default 4 MiB). Camera states do not count: they conflate to one
   * per camera (docs/protocol.md 6.2).
   */
  maxBytes?: number;
  /**
   * Called (once, from a later turn of the event loop, never from inside a delivery) when a
   * frame would take the backlog past `maxBytes`: the backlog is already dropped and nothing
   * more is written; the owner closes the connection (4000, docs/protocol.md section 7).
   * `heldBytes`: what the client was owed, that frame included.
   */
  overflowed?(heldBytes: number): void;
}

/**
 * The audience group a client is in, as the client, the hub and map delivery see it
 * (group.ts `AudienceGroup` implements it; the hub finds the group itself by `key`).
 */
export interface Membership {
  /** The group's key in the hub (group.ts `groupKey`). */
  readonly key: string;
  /** Frames due to the group's clients this tick. */
  readonly dueFrames: readonly ReadyFrame[];
  /** Whether the group still holds a state of `camera` for its clients (due or gated). */
  holds(camera: string): boolean;
}

/**
 * One connected client and the one writer of its socket's bytes. While the socket takes
 * them, frames go straight to it; once it is backpressured (`writableNeedDrain`), what the
 * client is owed waits here, bounded, not in Node's writable buffer: camera states conflate to
 * the newest per camera (docs/protocol.md 6.2), tiles and messages queue in order up to
 * `BacklogLimit.maxBytes`, and everything waiting goes out on 'drain'. Once the WebSocket is
 * no longer open (a Close sent or received, RFC 6455 section 7.1), nothing more is written and
 * what was owed is dropped in O(1).
 */
export class FanoutClient {
  /** The audience group it receives broadcast frames through; null before `Hub.enter` and after leaving. */
  group: Membership | null = null;
  /** Index in the group's client array (swap-remove on leave); -1 outside a group. */
  slot = -1;
  /**
   * Newest camera frame per camera held back while the socket is backpressured (docs/protocol.md
   * 6.2); null when none is. Only this client changes it (`sendState`, `retainPending`, 'drain').
   */
  private held: Map<string, ReadyFrame> | null = null;
  /** Cameras whose snapshot already gave this client a newer state than its group has sent. */
  skipUpTo: Map<string, number> | null = null;
  /** Tiles and messages owed, in order. */
  private readonly backlog = new Backlog();
  /**
   * Since when (hub clock, ms) the socket has taken nothing of a non-empty backlog: when the
   * backlog began, or the socket last drained part of it. 0 when the backlog is empty.
   */
  waitingSince = 0;
  private ended = false;
  /** Ended, or states pending, or bytes queued: nothing may go straight to the socket. */
  private owing = false;
  private drainArmed = false;
  private readonly maxBacklogBytes: number;
  private readonly overflowed: ((heldBytes: number) => void) | undefined;
  private readonly onDrain = () => {
    this.drainArmed = false;
    this.flush();
  };

  /** `limit`: backlog bound and overflow callback (default: DEFAULT_MAX_BACKLOG_BYTES, 4 MiB, no callback). */
  constructor(
    /** The session id (also a produced frame's `origin`: a producer is not sent its own updates). */
    readonly id: number,
    /** The frame it receives: its encoding, or 'legacy' in legacy JSON mode. */
    readonly encoding: FrameFormat,
    /** Where its bytes go (WebSocketTransport in service). */
    readonly transport: Transport,
    /** What it receives; replaced only through `Hub.resubscribe`. */
    public subscription: Subscription,
    private readonly hooks: ClientHooks,
    limit: BacklogLimit = {},
  ) {
    this.maxBacklogBytes = limit.maxBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.overflowed = limit.overflowed;
  }

  /** The newest camera frame per camera held back while backpressured, or null (read-only view). */
  get pending(): ReadonlyMap<string, ReadyFrame> | null {
    return this.held;
  }

  /** Drops the held-back states of cameras `subscription` no longer covers (on resubscribe). */
  retainPending(subscription: Subscription): void {
    const held = this.held;
    if (held === null) return;
    for (const camera of held.keys()) if (!subscribes(subscription, camera)) held.delete(camera);
  }

  /** Bytes of tiles and messages waiting for the socket. */
  get backlogBytes(): number {
    return this.backlog.bytes;
  }

  /** Nothing more is written to this client (its connection is closing or gone). */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * True when a frame may go straight to the socket: open, not backpressured, nothing owed
   * ahead of it. Read once per client per delivery; allocates nothing.
   */
  get caughtUp(): boolean {
    return !this.owing && !this.transport.writableNeedDrain && this.transport.open;
  }

  /**
   * A message that must arrive in order (a tile, hello, ack, error): written now, or queued
   * behind what the client is owed. `message`: a camera or tile message (counted as sent when
   * a queued copy is written). True when written now.
   */
  send(frame: Buffer, message = false): boolean {
    if (!this.writing()) return false;
    if (!this.owing && !this.transport.writableNeedDrain) {
      this.transport.write(frame);
      return true;
    }
    this.queue(frame, message);
    return false;
  }

  /** A camera state: written now, or kept as this camera's newest pending state (6.1, 6.2). True when written now. */
  sendState(frame: ReadyFrame): boolean {
    if (!this.writing()) return false;
    if (!this.owing && !this.transport.writableNeedDrain) {
      this.transport.write(frame[this.encoding]);
      return true;
    }
    this.conflate(frame);
    return false;
  }

  /**
   * A message only worth sending to a client that is not behind (a heartbeat: one queued
   * behind a backlog would arrive stale, and the backlog itself shows the server is alive).
   */
  sendIfCaughtUp(frame: Buffer): void {
    if (this.caughtUp) this.transport.write(frame);
  }

  /** Writes nothing more, and drops what was owed (O(1)). */
  end(): void {
    this.ended = true;
    this.owing = true;
    this.held = null;
    this.backlog.clear();
    this.waitingSince = 0;
  }

  /** True while the WebSocket is open; the first write attempt after that ends this client. */
  private writing(): boolean {
    if (this.ended) return false;
    if (this.transport.open) return true;
    this.end();
    return false;
  }

  /** Keeps only the newest frame per camera until the socket drains (docs/protocol.md 6.2). */
  private conflate(frame: ReadyFrame): void {
    if (this.held === null) {
      this.held = new Map();
      this.owing = true;
      this.armDrain();
    }
    const previous = this.held.get(frame.camera);
    if (previous !== undefined) {
      if (previous.seq >= frame.seq) return;
      this.hooks.coalesced(1);
    }
    this.held.set(frame.camera, frame);
  }

  private queue(frame: Buffer, message: boolean): void {
    const held = this.backlog.bytes + frame.length;
    if (held > this.maxBacklogBytes) {
      // Past the bound: drop the backlog now (the Close must not wait behind it) and let the
      // owner close the connection, outside the delivery loop that is running.
      this.end();
      if (this.overflowed !== undefined) setImmediate(this.overflowed, held);
      return;
    }
    if (this.backlog.bytes === 0) this.waitingSince = this.hooks.now();
    this.backlog.push(frame, message);
    this.owing = true;
    this.armDrain();
  }

  private armDrain(): void {
    if (this.drainArmed) return;
    this.drainArmed = true;
    // Backpressured: 'drain' comes when Node's buffer empties. Not (yet): flush next turn.
    if (this.transport.writableNeedDrain) this.transport.once('drain', this.onDrain);
    else setImmediate(this.onDrain);
  }

  /** On drain: the newest pending states first (small, and time matters), then the backlog while the socket takes it. */
  private flush(): void {
    if (!this.writing()) return;
    const transport = this.transport;
    let count = 0;
    let bytes = 0;
    const pending = this.held;
    if (pending !== null) {
      this.held = null;
      transport.cork();
      for (const frame of pending.values()) {
        const data = frame[this.encoding];
        transport.write(data);
        bytes += data.length;
      }
      transport.uncork();
      count += pending.size;
    }
    let drained = false;
    while (this.backlog.bytes > 0 && !transport.writableNeedDrain) {
      const chunk = this.backlog.shift()!;
      transport.write(chunk.bytes);
      count += chunk.messages;
      bytes += chunk.messageBytes;
      drained = true;
    }
    if (count > 0) this.hooks.sent(this.encoding, count, bytes);
    if (this.backlog.bytes === 0) this.waitingSince = 0;
    else if (drained) this.waitingSince = this.hooks.now();
    this.owing = this.backlog.bytes > 0;
    if (this.owing) this.armDrain();
  }

  /** True (and forgets the mark once passed) when the snapshot already covered this frame. */
  coveredBySnapshot(frame: ReadyFrame): boolean {
    const skip = this.skipUpTo;
    if (skip === null) return false;
    const upTo = skip.get(frame.camera);
    if (upTo === undefined) return false;
    if (frame.seq <= upTo) return true;
    skip.delete(frame.camera);
    if (skip.size === 0) this.skipUpTo = null;
    return false;
  }
}
