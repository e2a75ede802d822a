// Clients that asked for the same thing (encoding, cameras, rate) receive the same bytes at
// the same moments. A group decides once per tick what is due for all of its members, builds
// that tick's batch once, and writes it to each member in one call.
import type { FrameFormat } from '../protocol/legacy.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { RateLimiter } from '../util/rate-limiter.js';
import type { FanoutClient, Subscription } from './client.js';

interface Gate {
  camera: string;
  bucket: RateLimiter;
  /** The newest frame waiting for a token (latest value wins). */
  waiting: ReadyFrame | null;
  /** When the bucket last let a frame through (host clock, ms). */
  passedAt: number;
}

export interface GroupHost {
  /** The group has frames due: deliver them at the end of this tick. */
  markDue(group: AudienceGroup): void;
  coalesced(count: number): void;
  now(): number;
}

export function groupKey(encoding: FrameFormat, subscription: Subscription): string {
  const cameras = subscription.cameras === null ? '*' : [...subscription.cameras].sort().join(',');
  return `${encoding}|${subscription.maxHz}|${cameras}${subscription.tiles === false ? '|no-tiles' : ''}`;
}

export class AudienceGroup {
  readonly clients: FanoutClient[] = [];
  /** Frames to write at the next flush, in the order they became due. */
  private due: ReadyFrame[] = [];
  private dueMarked = false;
  /**
   * Per-camera rate gates of a throttled group, in the order they last let a frame through
   * (a pass moves its gate to the end). A gate with nothing waiting whose bucket is full
   * again (RateLimiter.fillMs since its last pass) owes nothing and is dropped by the sweep:
   * a new one would pass the next frame just the same. So a group holds gates for the
   * cameras active in the last fill time, not for every camera it ever saw.
   */
  private readonly gates = new Map<string, Gate>();
  private readonly waiting = new Set<Gate>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  /** Bytes the last `deliver()` wrote, all members together (for the bytes-sent counter). */
  deliveredBytes = 0;

  constructor(
    readonly key: string,
    readonly encoding: FrameFormat,
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
    if (frame.kind === 'tile' && this.subscription.tiles === false) return;
    if (frame.kind === 'tile' || !this.throttled) {
      this.makeDue(frame);
      return;
    }
    const now = this.host.now();
    let gate = this.gates.get(frame.camera);
    if (gate === undefined) {
      gate = { camera: frame.camera, bucket: new RateLimiter(this.subscription.maxHz, this.burst, now), waiting: null, passedAt: now };
      this.gates.set(frame.camera, gate);
      this.armSweep(gate.bucket.fillMs);
    }
    if (gate.waiting === null && gate.bucket.take(now)) {
      this.passed(gate, now);
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
        this.passed(gate, now);
        this.makeDue(gate.waiting!);
        gate.waiting = null;
        this.waiting.delete(gate);
      } else {
        next = Math.min(next, now + gate.bucket.msUntilPass(now));
      }
    }
    if (next !== Infinity) this.armTimer(next);
  };

  private passed(gate: Gate, now: number): void {
    gate.passedAt = now;
    this.gates.delete(gate.camera);
    this.gates.set(gate.camera, gate);
  }

  private armSweep(delayMs: number): void {
    if (this.sweepTimer !== null) return;
    this.sweepTimer = setTimeout(this.sweepGates, delayMs);
    this.sweepTimer.unref();
  }

  /** Drops the gates that owe nothing (see `gates`), oldest pass first; stops at the first recent one. */
  private readonly sweepGates = (): void => {
    this.sweepTimer = null;
    const now = this.host.now();
    // Every gate of a group has the same rate and burst, hence the same fill time.
    let next = 0;
    for (const gate of this.gates.values()) {
      next = gate.bucket.fillMs;
      if (gate.waiting !== null) continue;
      if (now - gate.passedAt < next) {
        next = gate.passedAt + next - now;
        break;
      }
      this.gates.delete(gate.camera);
    }
    if (this.gates.size > 0) this.armSweep(next);
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
    if (this.sweepTimer !== null) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
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
