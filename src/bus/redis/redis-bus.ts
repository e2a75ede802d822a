// The bus of a node that shares one Redis with other nodes (DESIGN.md, "Scale-out").
//
// An update accepted here (store row, producer message) gets its seq from a Redis counter
// per camera (one for tiles) inside one script that also keeps the camera's latest state
// and publishes an envelope with both finished frames on the camera's channel
// (src/bus/redis/scripts.ts). This node encodes the update once, with its seq left open
// (src/bus/redis/seq-template.ts); the script fills in the seq; other nodes only take views
// into the envelope. This node delivers its own camera states to its graph from the
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
// its own liveness check (redis-liveness.ts), named, dropped and reconnected: an outage
// like any other.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { Subject, type Observable } from 'rxjs';
import type { Logger } from '../../log.js';
import { RateLimitedLog } from '../../util/rate-limited-log.js';
import { withLegacy, type ReadyFrame } from '../../protocol/ready-frame.js';
import type { Bus, BusState } from '../bus.js';
import { describeError } from '../../util/describe-error.js';
import { decodeEnvelope, DELIVERED_HERE, envelopeMeta, frameOfEnvelope, type Envelope } from './envelope.js';
import { DEFAULT_TILE_HISTORY, defineScripts, queuePublish, queueRaise, REDIS_NAMES, type PublishMode } from './scripts.js';
import { ConnectionLiveness } from './liveness.js';
import { planResync, type Mine, type ResyncAction } from './resync-plan.js';
import { fillSeq, messageOfFrame, seqTemplate, type SeqTemplate } from './seq-template.js';
import { TileSequencer } from './tile-sequencer.js';

export interface RedisBusOptions {
  url: string;
  /** Marks this node's envelopes, so that it ignores its own on the subscription. */
  nodeId: string;
  log: Logger;
  /** How long start waits for Redis before serving from the local store alone. */
  startWaitMs?: number;
  /** Tiles kept in the Redis history stream for clients' map and resume (--tile-history). */
  tileHistory?: number;
}

/** Reconnection delays double from this, up to RETRY_MAX_MS (ioredis reconnects by itself). */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 1000;
/** A command not answered in this time fails, and the node serves locally until it resyncs. */
const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;
const START_WAIT_MS = 3000;
/** After a failed resync while both connections look fine (a timeout, a script error). */
const RESYNC_RETRY_MS = 1000;
/** Tiles accepted during an outage and published to the other nodes once Redis is back. */
const MAX_PENDING_TILES = 10_000;
const SCAN_COUNT = 500;
/** Rounds of settling cameras that other nodes keep changing during a resync, before retrying later. */
const SETTLE_ROUNDS = 5;
const STOP_WAIT_MS = 2000;

type Phase = 'connecting' | 'online' | 'down' | 'resyncing';
type ConnectionName = 'commands' | 'subscriber';

/** Waiting to be published; `template` has the seq left open. */
interface Prepared {
  frame: ReadyFrame;
  template: SeqTemplate;
  /** Tiles: "x,y", the key of the history's latest-per-coordinate hash. */
  coordinate: string;
}

export function defaultNodeId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

export class RedisBus implements Bus {
  private readonly subject = new Subject<readonly ReadyFrame[]>();
  readonly frames: Observable<readonly ReadyFrame[]> = this.subject.asObservable();
  readonly nodeId: string;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  /** One liveness check per connection (redis-liveness.ts). */
  private readonly liveness: ConnectionLiveness[];
  private readonly log: Logger;
  private readonly throttledLog = new RateLimitedLog(10_000);
  /** The newest state of each camera this node has delivered (or put in its snapshot). */
  private readonly latest = new Map<string, ReadyFrame>();
  /** The newest state of each camera accepted here while Redis could not be reached. */
  private readonly acceptedOffline = new Map<string, ReadyFrame>();
  private pendingTiles: Prepared[] = [];
  private readonly tiles = new TileSequencer();
  /** The newest tile seq received on the subscription (null: never joined); missed ones follow it. */
  private lastRedisTile: number | null = null;
  /** Tiles arriving while missed ones are read from Redis; delivered after them. */
  private tilesDuringCatchUp: Array<{ frame: ReadyFrame; own: boolean }> | null = null;
  private phase: Phase = 'connecting';
  private lastError: string | null = null;
  /** Snapshot taken: frames go to the graph from now on. */
  private started = false;
  /** Other nodes' states that arrive while the snapshot is being taken. */
  private arrivedDuringStart: ReadyFrame[] | null = null;
  /** Publishing and resynchronising, one step after the other, in order. */
  private work: Promise<void> = Promise.resolve();
  private resyncQueued = false;
  /** Counts lost connections: a resync during which one was lost must run again. */
  private losses = 0;
  private resyncTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly startWaitMs: number;
  private readonly tileHistory: number;

  constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId;
    this.log = options.log;
    this.startWaitMs = options.startWaitMs ?? START_WAIT_MS;
    this.tileHistory = options.tileHistory ?? DEFAULT_TILE_HISTORY;
    this.commands = new (loadRedis())(options.url, {
      lazyConnect: true,
      // Fail fast while Redis is away: the update is served locally instead of waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(RETRY_FIRST_MS * 2 ** (attempt - 1), RETRY_MAX_MS),
    });
    // Subscribed again by resync() once both connections are up, not by ioredis on its own:
    // the states stored in Redis are read only after the subscription is in place.
    this.subscriber = this.commands.duplicate({ autoResubscribe: false, commandTimeout: COMMAND_TIMEOUT_MS });
    defineScripts(this.commands);
    const connections = [['commands', this.commands], ['subscriber', this.subscriber]] as const;
    this.liveness = connections.map(
      ([name, connection]) => new ConnectionLiveness(connection, { onDead: (reason) => this.connectionDead(name, connection, reason) }),
    );
    for (const [name, connection] of connections) {
      connection.on('ready', () => this.connectionReady());
      connection.on('close', () => this.connectionLost(name));
      connection.on('error', (error: Error) => {
        this.lastError = `${name} connection: ${describeError(error)}`;
        const count = this.throttledLog.admit(`error:${name}`);
        if (count > 0) this.log.debug({ err: error.message, connection: name, count }, 'redis connection error');
      });
    }
    this.subscriber.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => this.received(message));
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.received(message));
  }

  state(): { state: BusState; detail: string | null } {
    switch (this.phase) {
      case 'online':
        return { state: 'ok', detail: null };
      case 'resyncing':
        return { state: 'degraded', detail: 'redis: resynchronising after an outage' };
      case 'connecting':
        return { state: 'degraded', detail: 'redis: connecting' };
      default:
        return { state: 'degraded', detail: `redis unreachable${this.lastError === null ? '' : `: ${this.lastError}`}; serving local clients only` };
    }
  }

  publish(frames: readonly ReadyFrame[]): void {
    if (frames.length === 0 || this.stopped) return;
    this.enqueue(() => this.publishBatch(frames));
  }

  /**
   * Connects, then returns Redis's latest state of every camera merged with this node's own:
   * a camera Redis does not know yet (or knows an older state of) is published. When Redis
   * cannot be reached in time, the node starts on its own store and resyncs later.
   */
  async snapshot(local: readonly ReadyFrame[]): Promise<readonly ReadyFrame[]> {
    this.arrivedDuringStart = [];
    this.commands.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    for (const check of this.liveness) check.start();
    let losses = this.losses;
    try {
      await this.untilConnected(this.startWaitMs);
      losses = this.losses;
      await this.subscribe();
      this.lastRedisTile = Number((await this.commands.get(REDIS_NAMES.tileSeq)) ?? 0);
      const stored = await this.readStates();
      // Nobody has seen this node's seqs yet (they are store row ids): the states compete
      // by producer timestamp only.
      const mine = new Map<string, Mine>();
      for (const frame of local) {
        if (frame.kind !== 'camera') continue;
        const unseen = { ...frame, seq: 0 };
        mine.set(frame.camera, { shown: unseen, accepted: unseen });
      }
      const published = await this.settle(mine, stored);
      if (losses !== this.losses) throw new Error('redis connection lost while starting');
      this.phase = 'online';
      this.log.info({ node: this.nodeId, cameras: this.latest.size, published }, 'joined redis');
    } catch (error) {
      // States already taken from Redis stay; the store's own fill the gaps (provisionally).
      for (const frame of local) {
        if (frame.kind !== 'camera' || this.latest.has(frame.camera)) continue;
        this.latest.set(frame.camera, frame);
        this.acceptedOffline.set(frame.camera, frame);
      }
      this.phase = 'down';
      this.lastError = describeError(error);
      this.log.warn({ node: this.nodeId, err: this.lastError }, 'redis unreachable at start; serving from the local store, will resynchronise');
    }
    for (const frame of this.arrivedDuringStart) this.keepIfNewer(frame, []);
    this.arrivedDuringStart = null;
    this.started = true;
    if (this.phase !== 'online' && this.bothReady()) this.requestResync();
    return [...this.latest.values()];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    for (const check of this.liveness) check.stop();
    await Promise.race([this.work, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    this.commands.disconnect();
    this.subscriber.disconnect();
    this.subject.complete();
  }

  private enqueue(step: () => Promise<void>): void {
    this.work = this.work.then(step).catch((error: unknown) => {
      this.log.error({ err: describeError(error) }, 'redis bus step failed');
    });
  }

  private bothReady(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  private untilConnected(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.bothReady()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(this.lastError ?? `no answer from redis in ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.commands.off('ready', check);
        this.subscriber.off('ready', check);
      };
      this.commands.on('ready', check);
      this.subscriber.on('ready', check);
      check();
    });
  }

  private connectionReady(): void {
    if (this.started && !this.stopped && this.phase !== 'online' && this.bothReady()) this.requestResync();
  }

  private connectionLost(connection: string): void {
    if (this.stopped) return;
    // Copies of this node's tiles still on their way on the subscription will not come.
    if (connection === 'subscriber') this.emit(this.tiles.flushAwaiting());
    if (this.phase === 'online') {
      this.log.warn({ node: this.nodeId, connection }, 'redis connection lost; serving local clients only');
    }
    this.losses++;
    if (this.phase !== 'connecting') this.phase = 'down';
  }

  /**
   * A connection that stopped answering while its socket stays open: named in one log line
   * and on /healthz, then its socket destroyed, so that ioredis reconnects and the node
   * resynchronises as after any outage.
   */
  private connectionDead(name: ConnectionName, connection: Redis, reason: string): void {
    if (this.stopped) return;
    this.lastError = `${name} connection: ${reason}`;
    const count = this.throttledLog.admit(`dead:${name}`);
    if (count > 0) {
      this.log.warn(
        { node: this.nodeId, connection: name, err: reason, count },
        'redis connection not answering; dropping it and reconnecting, serving local clients only',
      );
    }
    // Down before the socket closes, so that the close is not logged a second time, and
    // counted as lost at once, so that a resync running now does not end as online.
    if (this.phase !== 'connecting') this.phase = 'down';
    this.losses++;
    connection.stream?.destroy();
  }

  private wentDown(error: unknown): void {
    this.lastError = `commands connection: ${describeError(error)}`;
    if (this.phase === 'online') {
      this.log.warn({ node: this.nodeId, err: this.lastError }, 'redis publish failed; serving local clients only');
    }
    this.phase = 'down';
    // The connections may look fine (a timeout, a script error): then no 'ready' will come.
    if (this.bothReady()) this.scheduleResync();
  }

  private scheduleResync(): void {
    if (this.resyncTimer !== null || this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      if (this.bothReady()) this.requestResync();
    }, RESYNC_RETRY_MS);
    this.resyncTimer.unref();
  }

  private requestResync(): void {
    if (this.resyncQueued || this.stopped) return;
    this.resyncQueued = true;
    this.enqueue(async () => {
      this.resyncQueued = false;
      await this.resync();
    });
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.psubscribe(REDIS_NAMES.cameraPattern);
      await this.subscriber.subscribe(REDIS_NAMES.tileChannel);
    } catch (error) {
      throw new Error(`subscriber connection: ${describeError(error)}`);
    }
  }

  /** Every camera's latest state in Redis, read in bounded steps. */
  private async readStates(): Promise<Map<string, ReadyFrame>> {
    const states = new Map<string, ReadyFrame>();
    let cursor = '0';
    do {
      const [next, entries] = await this.commands.hscanBuffer(REDIS_NAMES.states, cursor, 'COUNT', SCAN_COUNT);
      cursor = next.toString();
      for (let i = 1; i < entries.length; i += 2) {
        const envelope = this.decode(entries[i]!);
        if (envelope !== null && envelope.kind === 'camera') states.set(envelope.camera, frameOfEnvelope(envelope, this.nodeId));
      }
    } while (cursor !== '0');
    return states;
  }

  /**
   * After an outage (both connections back): subscribe, settle every camera with Redis
   * (resync-plan.ts), then publish the tiles accepted meanwhile. Publishing waits for it.
   */
  private async resync(): Promise<void> {
    if (this.stopped || !this.bothReady()) return; // the next 'ready' asks again
    this.phase = 'resyncing';
    this.tilesDuringCatchUp = [];
    const losses = this.losses;
    try {
      await this.subscribe();
      const stored = await this.readStates();
      const mine = new Map<string, Mine>();
      for (const [camera, shown] of this.latest) mine.set(camera, { shown, accepted: this.acceptedOffline.get(camera) ?? null });
      const republished = await this.settle(mine, stored);
      this.acceptedOffline.clear();
      const tiles = await this.publishPendingTiles();
      const missedTiles = await this.catchUpTiles();
      // A connection dropped meanwhile (and may be back already): settle again.
      if (losses !== this.losses) throw new Error('redis connection lost while resynchronising');
      this.phase = 'online';
      this.log.info(
        { node: this.nodeId, cameras: this.latest.size, republished, tiles, missed_tiles: missedTiles },
        'redis resynchronised',
      );
    } catch (error) {
      this.endCatchUp();
      this.lastError = describeError(error);
      this.phase = 'down';
      this.log.warn({ node: this.nodeId, err: this.lastError }, 'redis resynchronisation failed; will retry');
      if (this.bothReady()) this.scheduleResync();
    }
  }

  /**
   * Carries out the resync plan. A camera whose republishing Redis refused (another node
   * stored a more recent state meanwhile, perhaps with a seq this node's clients are already
   * past) is planned again against what Redis holds now. Returns the states republished.
   */
  private async settle(mine: ReadonlyMap<string, Mine>, stored: ReadonlyMap<string, ReadyFrame>): Promise<number> {
    let actions = planResync(mine, stored);
    let published = 0;
    for (let round = 1; actions.length > 0; round++) {
      const { republished, refused } = await this.apply(actions);
      published += republished;
      if (refused.length === 0) break;
      if (round === SETTLE_ROUNDS) throw new Error(`${refused.length} cameras kept changing in redis while settling`);
      const again = new Map<string, Mine>();
      for (const camera of refused) {
        const before = mine.get(camera)!;
        again.set(camera, { shown: this.latest.get(camera) ?? before.shown, accepted: before.accepted });
      }
      actions = planResync(again, await this.readStatesOf(refused));
    }
    return published;
  }

  /** Carries out a resync plan; returns the states republished and the cameras refused. */
  private async apply(actions: readonly ResyncAction[]): Promise<{ republished: number; refused: string[] }> {
    const out: ReadyFrame[] = [];
    const pipeline = this.commands.pipeline();
    const republish: Prepared[] = [];
    for (const action of actions) {
      if (action.type === 'deliver') this.keepIfNewer(action.frame, out);
      else {
        const prepared = prepare(action.frame);
        republish.push(prepared);
        // Above every seq this node has shown for the camera: its clients never go back.
        const floor = this.latest.get(action.frame.camera)?.seq ?? 0;
        queuePublish(pipeline, this.publishArgs(prepared, 'resync', floor, 0));
      }
    }
    let republished = 0;
    const refused: string[] = [];
    try {
      if (republish.length > 0) {
        const results = (await pipeline.exec()) ?? [];
        for (let i = 0; i < republish.length; i++) {
          const [seq, done] = replyOf(results[i]);
          const item = republish[i]!;
          if (!done) refused.push(item.frame.camera);
          else {
            republished++;
            this.keepIfNewer(withSeq(item, seq, 0), out);
          }
        }
      }
    } finally {
      // What was settled before a failure is delivered all the same.
      this.emit(out);
    }
    return { republished, refused };
  }

  /** The states Redis holds now for these cameras. */
  private async readStatesOf(cameras: readonly string[]): Promise<Map<string, ReadyFrame>> {
    const states = new Map<string, ReadyFrame>();
    const envelopes = await this.commands.hmgetBuffer(REDIS_NAMES.states, ...cameras);
    for (const bytes of envelopes) {
      const envelope = bytes === null ? null : this.decode(bytes);
      if (envelope !== null && envelope.kind === 'camera') states.set(envelope.camera, frameOfEnvelope(envelope, this.nodeId));
    }
    return states;
  }

  private receivedTile(seq: number): void {
    if (this.lastRedisTile === null || seq > this.lastRedisTile) this.lastRedisTile = seq;
  }

  /**
   * Tiles published while this node was away (pub/sub keeps nothing): read from the recent
   * ones Redis keeps and delivered in order, then those that arrived meanwhile.
   */
  private async catchUpTiles(): Promise<number> {
    const recent = await this.commands.lrangeBuffer(REDIS_NAMES.recentTiles, 0, -1);
    // Never joined before (it started while Redis was away): nothing to catch up on.
    const after = this.lastRedisTile;
    const out: ReadyFrame[] = [];
    for (const message of recent) {
      const envelope = this.decode(message);
      if (envelope === null || envelope.kind !== 'tile') continue;
      this.receivedTile(envelope.seq);
      if (after === null || envelope.seq <= after) continue;
      const own = envelope.node === this.nodeId;
      // Own tiles sent after an outage were delivered here at the time.
      if (own && (envelope.flags & DELIVERED_HERE) !== 0) continue;
      const tile = this.tiles.fromSubscription(frameOfEnvelope(envelope, this.nodeId), own);
      if (tile !== null) out.push(tile);
    }
    const missed = out.length;
    this.emit(out);
    this.endCatchUp();
    return missed;
  }

  /** Delivers the tiles that arrived during the catch-up, except those it delivered. */
  private endCatchUp(): void {
    const arrived = this.tilesDuringCatchUp ?? [];
    this.tilesDuringCatchUp = null;
    const out: ReadyFrame[] = [];
    for (const { frame, own } of arrived) {
      if (this.lastRedisTile !== null && frame.seq <= this.lastRedisTile) continue;
      this.receivedTile(frame.seq);
      const tile = this.tiles.fromSubscription(frame, own);
      if (tile !== null) out.push(tile);
    }
    this.tiles.settle();
    this.emit(out);
  }

  /** Tiles accepted during the outage: the other nodes get them now, above every seq shown here. */
  private async publishPendingTiles(): Promise<number> {
    const pipeline = this.commands.pipeline();
    // The tile counter, like the cameras' (raised by their republishing), goes above every
    // seq this node's clients saw, provisional ones included, even if Redis lost it.
    queueRaise(pipeline, [[REDIS_NAMES.tileSeq, this.tiles.lastSeq]]);
    for (const prepared of this.pendingTiles) queuePublish(pipeline, this.publishArgs(prepared, 'live', 0, DELIVERED_HERE));
    const results = (await pipeline.exec()) ?? [];
    if (results[0]?.[0]) throw results[0][0];
    let sent = 0;
    for (let i = 0; i < this.pendingTiles.length; i++) {
      const result = results[i + 1];
      if (result === undefined || result[0] !== null) break;
      sent++;
    }
    // This node's clients had them already (provisional seqs); the others get them now.
    this.pendingTiles = this.pendingTiles.slice(sent);
    if (this.pendingTiles.length > 0) throw new Error(`${this.pendingTiles.length} tiles not published`);
    return sent;
  }

  private async publishBatch(frames: readonly ReadyFrame[]): Promise<void> {
    if (this.stopped) return;
    const prepared = frames.map(prepare);
    if (this.phase !== 'online') {
      this.emit(this.provisional(prepared));
      return;
    }
    const pipeline = this.commands.pipeline();
    for (const item of prepared) queuePublish(pipeline, this.publishArgs(item, 'live', 0, 0));
    let results: Array<[Error | null, unknown]> = [];
    let failure: unknown = null;
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      failure = error;
    }
    const out: ReadyFrame[] = [];
    const failed: Prepared[] = [];
    for (let i = 0; i < prepared.length; i++) {
      const item = prepared[i]!;
      const result = results[i];
      if (result === undefined || result[0] !== null) {
        failure ??= result?.[0] ?? new Error('no reply from redis');
        failed.push(item);
        continue;
      }
      const [seq] = replyOf(result);
      const frame = withSeq(item, seq, item.frame.origin);
      if (frame.kind === 'tile') this.tiles.published(frame);
      else this.keepIfNewer(frame, out);
    }
    // Tiles are delivered from their copy on the subscription, unless it is gone.
    if (this.subscriber.status !== 'ready') out.push(...this.tiles.flushAwaiting());
    if (failed.length > 0) {
      this.wentDown(failure);
      out.push(...this.provisional(failed));
    }
    this.emit(out);
  }

  /** Updates accepted while Redis cannot be reached: served here, published after the resync. */
  private provisional(prepared: readonly Prepared[]): ReadyFrame[] {
    const out: ReadyFrame[] = [];
    for (const item of prepared) {
      if (item.frame.kind === 'tile') {
        out.push(this.tiles.admit(withSeq(item, this.tiles.nextProvisional(), item.frame.origin)));
        if (this.pendingTiles.length < MAX_PENDING_TILES) this.pendingTiles.push(item);
        else if (this.throttledLog.admit('pending-tiles-full') > 0) {
          this.log.warn({ max: MAX_PENDING_TILES }, 'too many tiles waiting for redis; further ones reach only the clients of this node');
        }
        continue;
      }
      const camera = item.frame.camera;
      const seq = (this.latest.get(camera)?.seq ?? 0) + 1;
      const frame = withSeq(item, seq, item.frame.origin);
      this.latest.set(camera, frame);
      this.acceptedOffline.set(camera, frame);
      out.push(frame);
    }
    return out;
  }

  private publishArgs(item: Prepared, mode: PublishMode, floor: number, flags: number) {
    const { frame, template } = item;
    const { timestamp, origin, camera } = frame;
    return {
      mode,
      kind: frame.kind,
      camera,
      timestamp,
      floor,
      meta: envelopeMeta({ timestamp, origin, flags, node: this.nodeId, camera }),
      ...template,
      historyLength: this.tileHistory,
      coordinate: item.coordinate,
    };
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
      if (this.tilesDuringCatchUp !== null) this.tilesDuringCatchUp.push({ frame, own });
      else {
        this.receivedTile(frame.seq);
        const tile = this.tiles.fromSubscription(frame, own);
        if (tile !== null) this.emit([tile]);
      }
      return;
    }
    const out: ReadyFrame[] = [];
    this.keepIfNewer(frame, out);
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

  /** A camera state goes on only if newer than the one this node has. */
  private keepIfNewer(frame: ReadyFrame, out: ReadyFrame[]): boolean {
    const known = this.latest.get(frame.camera);
    if (known !== undefined && known.seq >= frame.seq) return false;
    this.latest.set(frame.camera, frame);
    out.push(frame);
    return true;
  }

  private emit(frames: ReadyFrame[]): void {
    if (frames.length > 0 && this.started && !this.stopped) this.subject.next(frames);
  }
}

/** Encoded once more, with the seq left open: the only encoding done for a published update. */
function prepare(frame: ReadyFrame): Prepared {
  const message = messageOfFrame(frame.json);
  return { frame, template: seqTemplate(message), coordinate: message.type === 'tile_update' ? `${message.x},${message.y}` : '' };
}

function withSeq(item: Prepared, seq: number, origin: number): ReadyFrame {
  return withLegacy({ ...item.frame, ...fillSeq(item.template, seq), seq, origin });
}

/** [seq, published] from the publish script's reply. */
function replyOf(result: [Error | null, unknown] | undefined): [number, boolean] {
  if (result === undefined) throw new Error('no reply from redis');
  if (result[0] !== null) throw result[0];
  const [seq, published] = result[1] as [number, number];
  return [seq, published === 1];
}

/**
 * ioredis, loaded on first use: a node without --redis (most of them) does not carry its
 * code (some 15 MB of resident memory).
 */
export function loadRedis(): typeof Redis {
  return (createRequire(import.meta.url)('ioredis') as { Redis: typeof Redis }).Redis;
}
