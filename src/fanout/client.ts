// One connected client as the hub sees it: where its bytes go, what it asked for, and the
// little state that per-client conflation needs while its socket is backpressured.
import type { FrameFormat } from '../protocol/legacy.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import type { AudienceGroup } from './group.js';

/** The parts of a socket the hub writes to (net.Socket and tls.TLSSocket fit). */
export interface Transport {
  write(data: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface Subscription {
  /** null: every camera ("*"). */
  cameras: ReadonlySet<string> | null;
  maxHz: number;
  /** false: no tile updates at all (`tiles=none`, PROTOCOL.md section 9); absent: tiles too. */
  tiles?: boolean;
}

export function subscribes(subscription: Subscription, camera: string): boolean {
  return subscription.cameras === null || subscription.cameras.has(camera);
}

/** What a client reports to its hub about frames it handles on its own (under backpressure). */
export interface ClientHooks {
  coalesced(count: number): void;
  sent(encoding: FrameFormat, count: number, bytes: number): void;
}

export class FanoutClient {
  group: AudienceGroup | null = null;
  /** Index in the group's client array (swap-remove on leave). */
  slot = -1;
  /** Newest camera frame per camera held back while the socket is backpressured. */
  pending: Map<string, ReadyFrame> | null = null;
  /** Cameras whose snapshot already gave this client a newer state than its group has sent. */
  skipUpTo: Map<string, number> | null = null;
  /** Since when the socket buffer has been above the hard limit (0: it is not). */
  overLimitSince = 0;
  closed = false;
  readonly flushPendingOnDrain = () => this.flushPending();

  constructor(
    readonly id: number,
    /** The frame it receives: its encoding, or 'legacy' in legacy JSON mode. */
    readonly encoding: FrameFormat,
    readonly transport: Transport,
    public subscription: Subscription,
    private readonly hooks: ClientHooks,
  ) {}

  write(frame: Buffer): void {
    if (!this.closed) this.transport.write(frame);
  }

  /** Keeps only the newest frame per camera until the socket drains (PROTOCOL.md 6.2). */
  conflate(frame: ReadyFrame): void {
    if (this.pending === null) {
      this.pending = new Map();
      this.transport.once('drain', this.flushPendingOnDrain);
    }
    const previous = this.pending.get(frame.camera);
    if (previous !== undefined) {
      if (previous.seq >= frame.seq) return;
      this.hooks.coalesced(1);
    }
    this.pending.set(frame.camera, frame);
  }

  private flushPending(): void {
    const pending = this.pending;
    this.pending = null;
    if (pending === null || this.closed) return;
    const transport = this.transport;
    let bytes = 0;
    transport.cork();
    for (const frame of pending.values()) {
      const data = frame[this.encoding];
      transport.write(data);
      bytes += data.length;
    }
    transport.uncork();
    this.hooks.sent(this.encoding, pending.size, bytes);
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
