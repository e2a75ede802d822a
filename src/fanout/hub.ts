// The fanout: who is subscribed to what, the latest state of every camera (the snapshot),
// and delivery of each tick's frames to every audience group. Frames arrive already encoded
// and framed; nothing here encodes, and nothing here allocates per client per message.
import type { FrameFormat } from '../protocol/legacy.js';
import type { ReadyFrame } from '../protocol/ready-frame.js';
import { FanoutClient, subscribes, type BacklogLimit, type ClientHooks, type Subscription, type Transport } from './client.js';
import { AudienceGroup, groupKey, type GroupHost } from './group.js';
import { CameraStates, DEFAULT_MAX_CAMERAS } from './camera-states.js';

/** The hub's rate settings, clock, latency tap and camera-state store. */
export interface HubOptions {
  /** The server's maximum rate (--max-hz, per second per camera); groups at this rate are not throttled again here. */
  maxHz: number;
  /** Token bucket size of throttled groups' gates (--burst), >= 1. */
  burst: number;
  /** The hub's clock (ms): gates, backlog waits, `lastPublishedAt`; Date.now by default. */
  now?: () => number;
  /**
   * Called once per frame and audience group as the frame is written to the group's sockets
   * (not per client): milliseconds from the producer's timestamp to the write.
   */
  observeLatency?: (ms: number) => void;
  /** The latest state of each camera (the snapshot); by default DEFAULT_MAX_CAMERAS at most. */
  cameras?: CameraStates;
}

/** What the hub counts for /metrics (`wirecam_messages_sent_total`, `wirecam_bytes_sent_total`, `wirecam_updates_coalesced_total`). */
export interface HubCounters {
  /** Camera and tile messages written to sockets, by frame format (legacy: legacy JSON mode). */
  sent: Record<FrameFormat, number>;
  /** Bytes of those messages written to sockets, by frame format. */
  bytes: Record<FrameFormat, number>;
  /** States skipped because a newer one replaced them before they were written. */
  coalesced: number;
}

/**
 * Delivers each published frame to every subscribed client: groups clients by audience
 * (`groupKey`), keeps the snapshot (`cameras`), and writes each tick's due frames, group by
 * group, once per `setImmediate`. Camera states keep seq order per camera (docs/protocol.md
 * section 6, rule 1): a frame not newer than the known state is dropped by `publish`.
 */
export class Hub implements GroupHost {
  /** Every registered client (joined or with its map in progress). */
  readonly clients = new Set<FanoutClient>();
  /** Messages, bytes and coalesced states since start. */
  readonly counters: HubCounters = { sent: { json: 0, msgpack: 0, legacy: 0 }, bytes: { json: 0, msgpack: 0, legacy: 0 }, coalesced: 0 };
  /** The latest state of each camera, bounded (src/fanout/camera-states.ts). */
  readonly cameras: CameraStates;
  private readonly groups = new Map<string, AudienceGroup>();
  private readonly groupsByCamera = new Map<string, Set<AudienceGroup>>();
  private readonly allCameraGroups = new Set<AudienceGroup>();
  private dueGroups: AudienceGroup[] = [];
  private flushScheduled = false;
  private lastUpdateAt = 0;
  /** The hub's clock (ms), `HubOptions.now`. */
  readonly now: () => number;
  private readonly clientHooks: ClientHooks = {
    coalesced: (count) => this.coalesced(count),
    sent: (encoding, count, bytes) => {
      this.counters.sent[encoding] += count;
      this.counters.bytes[encoding] += bytes;
    },
    now: () => this.now(),
  };

  constructor(private readonly options: HubOptions) {
    this.now = options.now ?? Date.now;
    this.cameras = options.cameras ?? new CameraStates({ maxCameras: DEFAULT_MAX_CAMERAS });
  }

  /** Cameras with a known state (the snapshot's size; `wirecam_cameras`, /healthz `cameras`). */
  get cameraCount(): number {
    return this.cameras.size;
  }

  /** When the newest state or tile was published (0: never). */
  get lastPublishedAt(): number {
    return this.lastUpdateAt;
  }

  /** Adds `count` camera states replaced before they were written (stream graph, groups, clients). */
  coalesced(count: number): void {
    this.counters.coalesced += count;
  }

  /** States known before any client connected (the store's latest rows at start). */
  seed(frames: Iterable<ReadyFrame>): void {
    for (const frame of frames) this.remember(frame);
  }

  /**
   * Forgets the latest state of every camera not in `cameras` (the store no longer holds
   * them, e.g. after a restore): new clients' snapshots leave them out. Returns how many
   * were forgotten. Connected clients keep what they have.
   */
  retainOnly(cameras: ReadonlySet<string>): number {
    return this.cameras.retainOnly(cameras);
  }

  /**
   * Registers a client and writes its snapshot; `greeting` (hello) goes first when given.
   * `limit`: how much it may be owed while its socket is backpressured, and who hears when
   * it is owed more (see `BacklogLimit`).
   */
  join(id: number, encoding: FrameFormat, transport: Transport, subscription: Subscription, greeting?: Buffer, limit?: BacklogLimit): FanoutClient {
    const client = this.register(id, encoding, transport, subscription, limit);
    this.enter(client, greeting);
    return client;
  }

  /**
   * A client known to the hub but receiving no broadcast yet (its map is being sent,
   * src/fanout/map-delivery.ts); `enter` starts its broadcast with the snapshot.
   */
  register(id: number, encoding: FrameFormat, transport: Transport, subscription: Subscription, limit?: BacklogLimit): FanoutClient {
    const client = new FanoutClient(id, encoding, transport, subscription, this.clientHooks, limit);
    this.clients.add(client);
    return client;
  }

  /** Writes the registered client's snapshot (after `greeting`, if any) and starts its broadcast. */
  enter(client: FanoutClient, greeting?: Buffer): void {
    if (client.isEnded || client.group !== null) return;
    const transport = client.transport;
    transport.cork();
    if (greeting) client.send(greeting);
    this.enterGroup(client, client.subscription, () => true);
    transport.uncork();
  }

  /** Replaces a client's subscription; the snapshot covers only the newly subscribed cameras. */
  resubscribe(client: FanoutClient, subscription: Subscription): void {
    if (client.group === null) {
      // Registered, not entered yet: `enter` will use the new subscription.
      client.subscription = subscription;
      return;
    }
    const before = client.subscription;
    const owed = this.owedByGroup(client, subscription);
    this.leaveGroup(client);
    client.subscription = subscription;
    client.retainPending(subscription);
    client.transport.cork();
    this.enterGroup(client, subscription, (camera) => !subscribes(before, camera) || owed.has(camera));
    client.transport.uncork();
  }

  /**
   * Kept cameras whose newest state the client's group still holds for it (due this tick or
   * waiting for a token): leaving the group would lose that state (docs/protocol.md 6.3).
   */
  private owedByGroup(client: FanoutClient, next: Subscription): Set<string> {
    const owed = new Set<string>();
    const group = client.group;
    if (group === null) return owed;
    for (const camera of client.subscription.cameras ?? this.cameras.keys()) {
      const frame = this.cameras.get(camera);
      if (frame === undefined || !subscribes(next, camera) || !group.holds(camera)) continue;
      if (frame.origin === client.id || (client.skipUpTo?.get(camera) ?? -Infinity) >= frame.seq) continue;
      owed.add(camera);
    }
    return owed;
  }

  /** Stops delivery to a client and drops what it was owed (O(1)); nothing more is written to it. */
  leave(client: FanoutClient): void {
    client.end();
    if (!this.clients.delete(client)) return;
    this.leaveGroup(client);
  }

  /**
   * One frame from the stream graph: a tile goes to every group (each skips it for
   * `tiles=none`); a camera state newer than the known one becomes the snapshot's and goes to
   * the groups subscribed to its camera; an older or equal one is dropped. Writes happen at
   * the end of the tick (`flush`).
   */
  publish(frame: ReadyFrame): void {
    if (frame.kind === 'tile') {
      this.lastUpdateAt = this.now();
      for (const group of this.groups.values()) group.offer(frame);
      return;
    }
    if (!this.remember(frame)) return;
    const groups = this.groupsByCamera.get(frame.camera);
    if (groups !== undefined) for (const group of groups) group.offer(frame);
    for (const group of this.allCameraGroups) group.offer(frame);
  }

  /** GroupHost: `group` has frames due; one `flush` is scheduled (setImmediate) for every group due this turn. */
  markDue(group: AudienceGroup): void {
    this.dueGroups.push(group);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After every frame of this turn of the event loop: frames due together go out together.
      setImmediate(this.flush);
    }
  }

  /**
   * Delivers every group that has frames due, counts what was written, and observes latency
   * once per frame and group. Runs from setImmediate; tests call it to deliver at once.
   */
  readonly flush = (): void => {
    this.flushScheduled = false;
    const groups = this.dueGroups;
    this.dueGroups = [];
    const observe = this.options.observeLatency;
    const now = observe === undefined ? 0 : Date.now();
    for (const group of groups) {
      const frames = observe === undefined ? null : group.dueFrames;
      const delivered = group.deliver();
      this.counters.sent[group.encoding] += delivered;
      this.counters.bytes[group.encoding] += group.deliveredBytes;
      if (frames !== null && delivered > 0) for (const frame of frames) observe!(now - frame.timestamp);
    }
  };

  /** Keeps the newest state of each camera (CameraStates decides); false when the frame is not newer. */
  private remember(frame: ReadyFrame): boolean {
    if (!this.cameras.remember(frame, standalone)) return false;
    this.lastUpdateAt = this.now();
    return true;
  }

  private enterGroup(client: FanoutClient, subscription: Subscription, wantsSnapshotOf: (camera: string) => boolean): void {
    const group = this.groupFor(client.encoding, subscription);
    const cameras = subscription.cameras ?? this.cameras.keys();
    for (const camera of cameras) {
      const frame = this.cameras.get(camera);
      if (frame === undefined) continue;
      // Behind an older state pending under backpressure, it waits its turn (6.1).
      if (wantsSnapshotOf(camera)) client.sendState(frame);
      // The group may still hold this state (due this tick, or waiting for its rate): this
      // client has it already (just sent, or, on resubscribe, from its previous group) and
      // must not get it twice.
      if (group.holds(camera)) (client.skipUpTo ??= new Map()).set(camera, frame.seq);
    }
    group.add(client);
  }

  private leaveGroup(client: FanoutClient): void {
    const group = client.group === null ? undefined : this.groups.get(client.group.key);
    if (group === undefined) return;
    group.remove(client);
    client.skipUpTo = null;
    if (group.clients.length > 0) return;
    group.dispose();
    this.groups.delete(group.key);
    if (group.subscription.cameras === null) this.allCameraGroups.delete(group);
    else {
      for (const camera of group.subscription.cameras) {
        const set = this.groupsByCamera.get(camera);
        set?.delete(group);
        if (set?.size === 0) this.groupsByCamera.delete(camera);
      }
    }
  }

  private groupFor(encoding: FrameFormat, subscription: Subscription): AudienceGroup {
    const key = groupKey(encoding, subscription);
    let group = this.groups.get(key);
    if (group !== undefined) return group;
    const throttled = subscription.maxHz < this.options.maxHz;
    group = new AudienceGroup(key, encoding, subscription, throttled, this.options.burst, this);
    this.groups.set(key, group);
    if (subscription.cameras === null) this.allCameraGroups.add(group);
    else {
      for (const camera of subscription.cameras) {
        let set = this.groupsByCamera.get(camera);
        if (set === undefined) this.groupsByCamera.set(camera, (set = new Set()));
        set.add(group);
      }
    }
    return group;
  }
}

/**
 * A frame that owns its bytes. Frames from the store are views into their batch's buffer;
 * the snapshot keeps a camera's latest frame indefinitely, and a view would keep the whole
 * batch (up to --batch-rows states) alive with it.
 */
function standalone(frame: ReadyFrame): ReadyFrame {
  const size = frame.json.length + frame.msgpack.length + frame.legacy.length;
  const shared = frame.json.buffer.byteLength > 2 * size;
  if (!shared) return frame;
  const bytes = Buffer.allocUnsafe(size);
  frame.json.copy(bytes, 0);
  frame.msgpack.copy(bytes, frame.json.length);
  frame.legacy.copy(bytes, frame.json.length + frame.msgpack.length);
  const legacyAt = frame.json.length + frame.msgpack.length;
  return { ...frame, json: bytes.subarray(0, frame.json.length), msgpack: bytes.subarray(frame.json.length, legacyAt), legacy: bytes.subarray(legacyAt) };
}
