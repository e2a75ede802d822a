// Clients that asked for the same thing (encoding, cameras, rate) receive the same bytes at
// the same moments. A group decides once per tick what is due for all of its members, builds
// that tick's batch once, and writes it to each member in one call.
import type { Encoding } from '../protocol/messages.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { RateLimiter } from '../pipeline/rate-limiter.js';
import type { FanoutClient, Subscription } from './client.js';

interface Gate {
  bucket: RateLimiter;
  /** The newest frame waiting for a token (latest value wins). */
  waiting: ReadyFrame | null;
}

export interface GroupHost {
  /** The group has frames due: deliver them at the end of this tick. */
  markDue(group: AudienceGroup): void;
  coalesced(count: number): void;
  now(): number;
}

export function groupKey(encoding: Encoding, subscription: Subscription): string {
  const cameras = subscription.cameras === null ? '*' : [...subscription.cameras].sort().join(',');
  return `${encoding}|${subscription.maxHz}|${cameras}`;
}

export class AudienceGroup {
  readonly clients: FanoutClient[] = [];
  /** Frames to write at the next flush, in the order they became due. */
  private due: ReadyFrame[] = [];
  private dueMarked = false;
  private readonly gates = new Map<string, Gate>();
  private readonly waiting = new Set<Gate>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  /** Bytes the last `deliver()` wrote, all members together (for the bytes-sent counter). */
  deliveredBytes = 0;

  constructor(
    readonly key: string,
    readonly encoding: Encoding,
    readonly subscription: Subscription,
    /** Below the server's maximum: the stream graph already enforces that one. */
    private readonly throttled: boolean,
    private readonly burst: number,
    private readonly host: GroupHost,
  ) {}

  add(client: FanoutClient): void {
    client.group = this;
    client.slot = this.clients.length;
    this.clients.push(client);
  }

  remove(client: FanoutClient): void {
    const last = this.clients.pop()!;
    if (last !== client) {
      this.clients[client.slot] = last;
      last.slot = client.slot;
    }
    client.group = null;
    client.slot = -1;
  }

  /** What the next delivery will write. */
  get dueFrames(): readonly ReadyFrame[] {
    return this.due;
  }

  /** Whether a state of this camera is due or waiting here, not yet written to members. */
  holds(camera: string): boolean {
    for (const frame of this.due) if (frame.kind === 'camera' && frame.camera === camera) return true;
    const gate = this.gates.get(camera);
    return gate !== undefined && gate.waiting !== null;
  }

  offer(frame: ReadyFrame): void {
    if (frame.kind === 'tile' || !this.throttled) {
      this.makeDue(frame);
      return;
    }
    const now = this.host.now();
    let gate = this.gates.get(frame.camera);
    if (gate === undefined) {
      gate = { bucket: new RateLimiter(this.subscription.maxHz, this.burst, now), waiting: null };
      this.gates.set(frame.camera, gate);
    }
    if (gate.waiting === null && gate.bucket.take(now)) {
      this.makeDue(frame);
      return;
    }
    if (gate.waiting !== null) this.host.coalesced(1);
    gate.waiting = frame;
    this.waiting.add(gate);
    this.armTimer(now + gate.bucket.msUntilPass(now));
  }

  private makeDue(frame: ReadyFrame): void {
    this.due.push(frame);
    if (!this.dueMarked) {
      this.dueMarked = true;
      this.host.markDue(this);
    }
  }

  private armTimer(at: number): void {
    if (at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.releaseWaiting, Math.max(0, at - this.host.now()));
  }

  private readonly releaseWaiting = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.host.now();
    let next = Infinity;
    for (const gate of this.waiting) {
      if (gate.bucket.take(now)) {
        this.makeDue(gate.waiting!);
        gate.waiting = null;
        this.waiting.delete(gate);
      } else {
        next = Math.min(next, now + gate.bucket.msUntilPass(now));
      }
    }
    if (next !== Infinity) this.armTimer(next);
  };

  /**
   * Writes what is due to every member: one buffer, one write per member that is caught up;
   * members that are behind, closing, or owed a different selection go frame by frame.
   */
  deliver(): number {
    const frames = this.due;
    this.due = [];
    this.dueMarked = false;
    this.deliveredBytes = 0;
    if (frames.length === 0 || this.clients.length === 0) return 0;
    const encoding = this.encoding;
    const batch = frames.length === 1 ? frames[0]![encoding] : Buffer.concat(frames.map((f) => f[encoding]));
    const fromProducer = hasOrigin(frames);
    const clients = this.clients;
    let delivered = 0;
    let batchWrites = 0;
    for (let i = 0; i < clients.length; i++) {
      const client = clients[i]!;
      if (client.skipUpTo !== null || fromProducer || !client.caughtUp) {
        delivered += deliverSelectively(client, frames, this);
      } else {
        client.transport.write(batch);
        delivered += frames.length;
        batchWrites++;
      }
    }
    this.deliveredBytes += batch.length * batchWrites;
    return delivered;
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
    this.gates.clear();
    this.due = [];
  }
}

function hasOrigin(frames: readonly ReadyFrame[]): boolean {
  for (let i = 0; i < frames.length; i++) if (frames[i]!.origin !== 0) return true;
  return false;
}

/**
 * The slow path, frame by frame: the client is behind (camera states conflate, tiles queue in
 * its bounded backlog), or closing (nothing is written), or its snapshot was newer than the
 * group's state, or it produced one of the frames (not echoed back to it). Counts and tallies
 * only what is written now; what is queued is counted when the client writes it.
 */
function deliverSelectively(client: FanoutClient, frames: readonly ReadyFrame[], tally: { deliveredBytes: number }): number {
  if (client.isEnded) return 0;
  const transport = client.transport;
  const encoding = client.encoding;
  let written = 0;
  transport.cork();
  for (const frame of frames) {
    if (frame.origin === client.id) continue;
    if (frame.kind === 'camera') {
      if (client.coveredBySnapshot(frame)) continue;
      if (!client.sendState(frame)) continue;
    } else if (!client.send(frame[encoding], true)) continue;
    tally.deliveredBytes += frame[encoding].length;
    written++;
  }
  transport.uncork();
  return written;
}
