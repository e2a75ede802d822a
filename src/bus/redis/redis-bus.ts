// The bus of a node that shares one Redis with other nodes (docs/architecture.md; README, "Scale-out with Redis").
//
// An update accepted here (store row, producer message) gets its seq from a Redis counter
// per camera (one for tiles) inside one script that also keeps the camera's latest state
// and publishes an envelope with the update's three payloads on the camera's channel
// (src/bus/redis/scripts.ts). The store worker encoded the update once and marked where its
// seq lies (a seq template); this node only cuts the payloads around the seq
// (src/bus/redis/seq-template.ts), the script writes the seq in, and every node frames the
// payloads it receives once (src/protocol/frame.ts): no node encodes on its main thread.
// This node delivers its own camera states to its graph from the
// script's reply and ignores their copies on the subscription; its own tiles it takes from
// the subscription, where Redis keeps every node's tiles in seq order (tile-sequencer.ts).
//
// When Redis cannot be reached, local clients are still served: updates accepted here are
// delivered with a provisional seq (the last one seen for that camera, plus one) and
// remembered; once both connections are back, the node resynchronises (resync-plan.ts) and
// every node ends on the same latest state; the tiles it missed meanwhile are read back from
// the recent ones Redis keeps. Out-of-order arrivals are harmless: the graph,
// the hub and this bus drop a camera state that is not newer than the last one.
//
// A connection whose path stops delivering without closing (no FIN, no RST) is noticed by
// its own liveness check (liveness.ts), named, dropped and reconnected: an outage like any
// other.
//
// The jobs live beside this file: the connections and their phase (connection.ts),
// publishing (publish.ts), the resync after an outage (resync.ts), the tile catch-up
// (tile-catch-up.ts), what this node has shown (shown.ts), the envelope, the scripts and the
// seq template. This class joins them behind the Bus interface.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Subject, type Observable } from 'rxjs';
import type { Logger } from '../../log.js';
import { RateLimitedLog } from '../../util/rate-limited-log.js';
import { describeError } from '../../util/describe-error.js';
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import type { Bus, BusState } from '../bus.js';
import { decodeEnvelope, DELIVERED_HERE, frameOfEnvelope, type Envelope } from './envelope.js';
import { DEFAULT_TILE_HISTORY, defineScripts, REDIS_NAMES } from './scripts.js';
import { RedisConnections } from './connection.js';
import type { Mine } from './resync-plan.js';
import { Publisher } from './publish.js';
import { Resync } from './resync.js';
import { Shown } from './shown.js';
import { TileCatchUp } from './tile-catch-up.js';

/** The Redis bus's settings (src/bus/create-bus.ts builds them from --redis and friends). */
export interface RedisBusOptions {
  /** redis:// or rediss:// URL (checked by createBus), password included. */
  url: string;
  /** Marks this node's envelopes, so that it ignores its own on the subscription. */
  nodeId: string;
  log: Logger;
  /** How long `snapshot` waits for Redis before serving from the local store alone, in ms (3000). */
  startWaitMs?: number;
  /** Tiles kept in the Redis history stream for clients' map and resume (--tile-history, default 100000). */
  tileHistory?: number;
}

const START_WAIT_MS = 3000;
const STOP_WAIT_MS = 2000;

/** A node id when --node-id is not given: the host name and six random hex digits. */
export function defaultNodeId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

/**
 * The bus between nodes sharing one Redis (see the file's comment and bus.ts). Connects only
 * in `snapshot`; `frames` emits nothing before it. Publishing and resynchronising run one
 * step at a time, in order; a step that throws is logged ("redis bus step failed") and the
 * next one runs.
 */
export class RedisBus implements Bus {
  private readonly subject = new Subject<readonly ReadyFrame[]>();
  readonly frames: Observable<readonly ReadyFrame[]> = this.subject.asObservable();
  /** --node-id: marks this node's envelopes; also names it in logs and RedisTileHistory. */
  readonly nodeId: string;
  private readonly connections: RedisConnections;
  private readonly log: Logger;
  private readonly throttledLog = new RateLimitedLog(10_000);
  private readonly shown = new Shown();
  private readonly publisher: Publisher;
  private readonly catchUp: TileCatchUp;
  private readonly resync: Resync;
  /** Snapshot taken: frames go to the graph from now on. */
  private started = false;
  /** Other nodes' states that arrive while the snapshot is being taken. */
  private arrivedDuringStart: ReadyFrame[] | null = null;
  /** Publishing and resynchronising, one step after the other, in order. */
  private work: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly startWaitMs: number;

  constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId;
    this.log = options.log;
    this.startWaitMs = options.startWaitMs ?? START_WAIT_MS;
    const tileHistory = options.tileHistory ?? DEFAULT_TILE_HISTORY;
    this.connections = new RedisConnections(options.url, this.nodeId, this.log, this.throttledLog, {
      ready: () => {
        if (this.started && !this.stopped && this.connections.phase !== 'online' && this.connections.bothReady()) this.resync.request();
      },
      // Copies of this node's tiles still on their way on the subscription will not come.
      lost: (connection) => {
        if (connection === 'subscriber') this.emit(this.shown.tiles.flushAwaiting());
      },
      message: (message) => this.received(message),
    });
    defineScripts(this.connections.commands);
    const emit = (frames: ReadyFrame[]) => this.emit(frames);
    const decode = (message: Buffer) => this.decode(message);
    this.publisher = new Publisher(this.connections, this.shown, {
      nodeId: this.nodeId,
      tileHistory,
      log: this.log,
      throttledLog: this.throttledLog,
      emit,
      wentDown: (error) => {
        this.connections.wentDown(error);
        // The connections may look fine (a timeout, a script error): then no 'ready' will come.
        if (this.connections.bothReady()) this.resync.schedule();
      },
    });
    this.catchUp = new TileCatchUp(this.shown.tiles, this.nodeId, decode, emit);
    this.resync = new Resync(this.connections, this.shown, this.publisher, this.catchUp, {
      nodeId: this.nodeId,
      tileHistory,
      log: this.log,
      decode,
      emit,
      enqueue: (step) => this.enqueue(step),
      stopped: () => this.stopped,
    });
  }

  /** `ok` while online; `degraded` while connecting, down or resynchronising (RedisConnections.state). */
  state(): { state: BusState; detail: string | null } {
    return this.connections.state();
  }

  /**
   * Queues `frames` for publish.ts, after the steps already queued. Online, each gets its
   * seq from the publish script; camera states then reach `frames` from the script's reply,
   * tiles from their copy on the subscription (tile-sequencer.ts). Down (or when the script
   * fails), they reach `frames` with provisional seqs, and each camera's latest and up to
   * 10,000 tiles (publish.ts) are published at the next resync. Never throws; does nothing
   * for an empty batch or after `stop`.
   */
  publish(frames: readonly ReadyFrame[]): void {
    if (frames.length === 0 || this.stopped) return;
    this.enqueue(async () => {
      if (!this.stopped) await this.publisher.publishBatch(frames);
    });
  }

  /**
   * Connects, then returns Redis's latest state of every camera merged with this node's own:
   * a camera Redis does not know yet (or knows an older state of) is published. When Redis
   * cannot be reached within `startWaitMs`, the node starts on its own store and resyncs
   * later: never rejects for Redis being away (the failure is logged and on /healthz).
   */
  async snapshot(local: readonly ReadyFrame[]): Promise<readonly ReadyFrame[]> {
    const { connections, shown } = this;
    this.arrivedDuringStart = [];
    connections.connect();
    let losses = connections.losses;
    try {
      await connections.untilConnected(this.startWaitMs);
      losses = connections.losses;
      await connections.subscribe();
      this.catchUp.joined(Number((await connections.commands.get(REDIS_NAMES.tileSeq)) ?? 0));
      const stored = await this.resync.readStates();
      // Nobody has seen this node's seqs yet (they are store row ids): the states compete
      // by producer timestamp only.
      const mine = new Map<string, Mine>();
      for (const frame of local) {
        if (frame.kind !== 'camera') continue;
        const unseen = { ...frame, seq: 0 };
        mine.set(frame.camera, { shown: unseen, accepted: unseen });
      }
      const published = await this.resync.settle(mine, stored);
      if (losses !== connections.losses) throw new Error('redis connection lost while starting');
      connections.phase = 'online';
      this.log.info({ node: this.nodeId, cameras: shown.latest.size, published }, 'joined redis');
    } catch (error) {
      // States already taken from Redis stay; the store's own fill the gaps (provisionally).
      for (const frame of local) {
        if (frame.kind !== 'camera' || shown.latest.has(frame.camera)) continue;
        shown.latest.set(frame.camera, frame);
        shown.acceptedOffline.set(frame.camera, frame);
      }
      connections.phase = 'down';
      connections.lastError = describeError(error);
      this.log.warn({ node: this.nodeId, err: connections.lastError }, 'redis unreachable at start; serving from the local store, will resynchronise');
    }
    for (const frame of this.arrivedDuringStart) shown.keepIfNewer(frame, []);
    this.arrivedDuringStart = null;
    this.started = true;
    if (connections.phase !== 'online' && connections.bothReady()) this.resync.request();
    return [...shown.latest.values()];
  }

  /**
   * Stops resyncing and the liveness checks, waits for the step in progress (at most 2 s;
   * publishes still queued are skipped), closes both connections and completes `frames`.
   * A second call does nothing.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.resync.stop();
    this.connections.stop();
    await Promise.race([this.work, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    this.connections.disconnect();
    this.subject.complete();
  }

  private enqueue(step: () => Promise<void>): void {
    this.work = this.work.then(step).catch((error: unknown) => {
      this.log.error({ err: describeError(error) }, 'redis bus step failed');
    });
  }

  /** A message on the subscription: another node's update, or this node's own copy. */
  private received(message: Buffer): void {
    if (this.stopped) return;
    const envelope = this.decode(message);
    if (envelope === null) return;
    const own = envelope.node === this.nodeId;
    // Own camera states went to the graph from the script's reply; own tiles sent after an
    // outage were delivered here at the time.
    if (own && (envelope.kind === 'camera' || (envelope.flags & DELIVERED_HERE) !== 0)) return;
    const frame = frameOfEnvelope(envelope, this.nodeId);
    if (this.arrivedDuringStart !== null) {
      if (frame.kind === 'camera') this.arrivedDuringStart.push(frame);
      return;
    }
    if (!this.started) return;
    if (frame.kind === 'tile') {
      this.catchUp.arrived(frame, own);
      return;
    }
    const out: ReadyFrame[] = [];
    this.shown.keepIfNewer(frame, out);
    this.emit(out);
  }

  private decode(message: Buffer): Envelope | null {
    try {
      return decodeEnvelope(message);
    } catch (error) {
      const count = this.throttledLog.admit('bad-envelope');
      if (count > 0) this.log.warn({ err: describeError(error), count }, 'ignored a malformed message from redis');
      return null;
    }
  }

  private emit(frames: ReadyFrame[]): void {
    if (frames.length > 0 && this.started && !this.stopped) this.subject.next(frames);
  }
}
