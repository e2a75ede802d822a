// Clients that asked for the same thing (encoding, cameras, rate) receive the same bytes at
// the same moments. A group decides once per tick what is due for all of its members, builds
// that tick's batch once, and writes it to each member in one call.
import type { FrameFormat } from '../protocol/legacy.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { GateTable } from '../pipeline/gate-table.js';
import { Wakeup, nodeTimer } from '../pipeline/wakeup.js';
import type { FanoutClient, Subscription } from './client.js';

/** What a group needs from its hub (the Hub implements it). */
export interface GroupHost {
  /** The group has frames due: deliver them at the end of this tick. */
  markDue(group: AudienceGroup): void;
  /** `count` camera states were replaced by newer ones in the group's gates (for the coalesced counter). */
  coalesced(count: number): void;
  /** The hub's clock (ms): the gates' time. */
  now(): number;
}

/**
 * The key of the audience group for `encoding` and `subscription`:
 * `encoding|maxHz|cameras` (cameras sorted and comma-joined, `*` for all), plus `|no-tiles`
 * for `tiles=none`. Equal keys receive equal bytes at equal moments.
 */
export function groupKey(encoding: FrameFormat, subscription: Subscription): string {
  const cameras = subscription.cameras === null ? '*' : [...subscription.cameras].sort().join(',');
  return `${encoding}|${subscription.maxHz}|${cameras}${subscription.tiles === false ? '|no-tiles' : ''}`;
}

/**
 * The clients of one audience (same encoding, cameras, rate and tile choice, see `groupKey`).
 * Below the server's maximum rate it throttles each camera through the shared latest-wins
 * gates (src/pipeline/gate-table.ts, docs/protocol.md section 6) on one Node timer; at the maximum,
 * the stream graph has already done that and frames are due at once.
 */
export class AudienceGroup {
  /** Its members, in no particular order (swap-remove: `FanoutClient.slot` is the index). */
  readonly clients: FanoutClient[] = [];
  /** Frames to write at the next flush, in the order they became due. */
  private due: ReadyFrame[] = [];
  private dueMarked = false;
  /**
   * Per-camera latest-wins gates of a throttled group (src/pipeline/gate-table.ts), each held
   * only while it owes something: a group holds gates for the cameras active in the last fill
   * time (RateLimiter.fillMs), not for every camera it ever saw. Null when not throttled.
   */
  private readonly gates: GateTable<string, ReadyFrame> | null;
  /** The one timer of the gates: trailing edges and releasing idle gates. */
  private readonly wakeup: Wakeup;
  /** Bytes the last `deliver()` wrote, all members together (for the bytes-sent counter). */
  deliveredBytes = 0;

  /** @throws RangeError when throttled and `subscription.maxHz` is not > 0 or `burst` not >= 1. */
  constructor(
    /** `groupKey(encoding, subscription)`: its key in the hub. */
    readonly key: string,
    /** The frame format written to every member. */
    readonly encoding: FrameFormat,
    /** What every member asked for. */
    readonly subscription: Subscription,
    /** Below the server's maximum: the stream graph already enforces that one. */
    throttled: boolean,
    /** Token bucket size of the throttled group's gates (--burst). */
    burst: number,
    private readonly host: GroupHost,
  ) {
    this.gates = throttled
      ? new GateTable<string, ReadyFrame>({
          ratePerSecond: subscription.maxHz,
          burst,
          emit: (frame) => this.makeDue(frame),
          onCoalesced: (count) => host.coalesced(count),
        })
      : null;
    this.wakeup = new Wakeup(() => host.now(), nodeTimer, this.wake);
  }

  /** Makes `client` a member (sets its `group` and `slot`); the hub sends its snapshot first. */
  add(client: FanoutClient): void {
    client.group = this;
    client.slot = this.clients.length;
    this.clients.push(client);
  }

  /** Removes a member in O(1) (the last member takes its slot); `client` must be a member. */
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
    return this.gates !== null && this.gates.holds(camera);
  }

  /**
   * A frame for this group's members: a tile (unless the members want none) or a camera state
   * not throttled here is due at once; a camera state of a throttled group goes through that
   * camera's latest-wins gate (due now, or when its rate allows, or replaced by a newer one).
   */
  offer(frame: ReadyFrame): void {
    if (frame.kind === 'tile' && this.subscription.tiles === false) return;
    if (frame.kind === 'tile' || this.gates === null) {
      this.makeDue(frame);
      return;
    }
    this.wakeup.arm(this.gates.offer(frame.camera, frame, this.host.now()));
  }

  private makeDue(frame: ReadyFrame): void {
    this.due.push(frame);
    if (!this.dueMarked) {
      this.dueMarked = true;
      this.host.markDue(this);
    }
  }

  /** The gates' appointment: trailing edges whose token is back become due, idle gates are released. */
  private readonly wake = (): void => {
    if (this.gates !== null) this.wakeup.arm(this.gates.release(this.host.now()));
  };

  /**
   * Writes what is due to every member: one buffer, one write per member that is caught up;
   * members that are behind, closing, or owed a different selection go frame by frame.
   * Returns how many frames were written now, all members together (queued ones are counted
   * by the client when written); `deliveredBytes` holds their bytes.
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

  /** Cancels the gates' timer and drops what is due or waiting: the group is gone (its last member left). */
  dispose(): void {
    this.wakeup.disarm();
    this.gates?.clear();
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
