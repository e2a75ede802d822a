// Resynchronising with Redis after an outage (and joining it at start): once both
// connections are back, subscribe, read every camera's state Redis holds, settle each camera
// with what this node showed and accepted meanwhile (resync-plan.ts), publish the tiles
// accepted meanwhile, and catch up on the tiles missed (tile-catch-up.ts). Publishing waits
// for it (the bus runs its steps one after the other).
import type { Logger } from '../../log.js';
import type { ReadyFrame } from '../../protocol/ready-frame.js';
import { describeError } from '../../util/describe-error.js';
import { frameOfEnvelope, type Envelope } from './envelope.js';
import { queuePublish, REDIS_NAMES } from './scripts.js';
import { planResync, type Mine, type ResyncAction } from './resync-plan.js';
import { prepare, publishArgs, replyOf, withSeq, type Prepared, type Publisher } from './publish.js';
import type { RedisConnections } from './connection.js';
import type { Shown } from './shown.js';
import type { TileCatchUp } from './tile-catch-up.js';

/** After a failed resync while both connections look fine (a timeout, a script error), in ms. */
const RESYNC_RETRY_MS = 1000;
/** Cameras read per HSCAN step. */
const SCAN_COUNT = 500;
/** Rounds of settling cameras that other nodes keep changing during a resync, before retrying later. */
const SETTLE_ROUNDS = 5;

/** The bus's settings and hooks the resync uses. */
export interface ResyncContext {
  nodeId: string;
  /** --tile-history: tiles kept in the Redis history stream. */
  tileHistory: number;
  log: Logger;
  /** Decodes an envelope, or null for a malformed one (logged by the bus). */
  decode(message: Buffer): Envelope | null;
  /** Frames for this node's graph. */
  emit(frames: ReadyFrame[]): void;
  /** Runs `step` after the bus's steps queued before it. */
  enqueue(step: () => Promise<void>): void;
  /** True once the bus is stopping. */
  stopped(): boolean;
}

/** Settles this node's cameras and tiles with Redis; schedules itself again after a failure. */
export class Resync {
  private queued = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connections: RedisConnections,
    private readonly shown: Shown,
    private readonly publisher: Publisher,
    private readonly catchUp: TileCatchUp,
    private readonly context: ResyncContext,
  ) {}

  /** Queues a resync after the steps already queued (once, however often it is asked). */
  request(): void {
    if (this.queued || this.context.stopped()) return;
    this.queued = true;
    this.context.enqueue(async () => {
      this.queued = false;
      await this.run();
    });
  }

  /** Asks again after RESYNC_RETRY_MS, if both connections are ready then. */
  schedule(): void {
    if (this.timer !== null || this.context.stopped()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.connections.bothReady()) this.request();
    }, RESYNC_RETRY_MS);
    this.timer.unref();
  }

  /** No more retries. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Every camera's latest state in Redis, read in bounded steps. */
  async readStates(): Promise<Map<string, ReadyFrame>> {
    const states = new Map<string, ReadyFrame>();
    let cursor = '0';
    do {
      const [next, entries] = await this.connections.commands.hscanBuffer(REDIS_NAMES.states, cursor, 'COUNT', SCAN_COUNT);
      cursor = next.toString();
      for (let i = 1; i < entries.length; i += 2) {
        const envelope = this.context.decode(entries[i]!);
        if (envelope !== null && envelope.kind === 'camera') states.set(envelope.camera, frameOfEnvelope(envelope, this.context.nodeId));
      }
    } while (cursor !== '0');
    return states;
  }

  /**
   * Carries out the resync plan. A camera whose republishing Redis refused (another node
   * stored a more recent state meanwhile, perhaps with a seq this node's clients are already
   * past) is planned again against what Redis holds now. Returns the states republished.
   * Throws when cameras keep changing for SETTLE_ROUNDS rounds, or on a Redis error.
   */
  async settle(mine: ReadonlyMap<string, Mine>, stored: ReadonlyMap<string, ReadyFrame>): Promise<number> {
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
        again.set(camera, { shown: this.shown.latest.get(camera) ?? before.shown, accepted: before.accepted });
      }
      actions = planResync(again, await this.readStatesOf(refused));
    }
    return published;
  }

  /**
   * After an outage (both connections back): subscribe, settle every camera with Redis
   * (resync-plan.ts), then publish the tiles accepted meanwhile and catch up on those missed.
   */
  private async run(): Promise<void> {
    const { connections, shown, context } = this;
    if (context.stopped() || !connections.bothReady()) return; // the next 'ready' asks again
    connections.phase = 'resyncing';
    this.catchUp.begin();
    const losses = connections.losses;
    try {
      await connections.subscribe();
      const stored = await this.readStates();
      const mine = new Map<string, Mine>();
      for (const [camera, shownFrame] of shown.latest) mine.set(camera, { shown: shownFrame, accepted: shown.acceptedOffline.get(camera) ?? null });
      const republished = await this.settle(mine, stored);
      shown.acceptedOffline.clear();
      const tiles = await this.publisher.publishPendingTiles();
      const missedTiles = await this.catchUp.catchUp(connections.commands);
      // A connection dropped meanwhile (and may be back already): settle again.
      if (losses !== connections.losses) throw new Error('redis connection lost while resynchronising');
      connections.phase = 'online';
      context.log.info(
        { node: context.nodeId, cameras: shown.latest.size, republished, tiles, missed_tiles: missedTiles },
        'redis resynchronised',
      );
    } catch (error) {
      this.catchUp.end();
      connections.lastError = describeError(error);
      connections.phase = 'down';
      context.log.warn({ node: context.nodeId, err: connections.lastError }, 'redis resynchronisation failed; will retry');
      if (connections.bothReady()) this.schedule();
    }
  }

  /** Carries out a resync plan; returns the states republished and the cameras refused. */
  private async apply(actions: readonly ResyncAction[]): Promise<{ republished: number; refused: string[] }> {
    const { nodeId, tileHistory } = this.context;
    const out: ReadyFrame[] = [];
    const pipeline = this.connections.commands.pipeline();
    const republish: Prepared[] = [];
    for (const action of actions) {
      if (action.type === 'deliver') this.shown.keepIfNewer(action.frame, out);
      else {
        const prepared = prepare(action.frame);
        republish.push(prepared);
        // Above every seq this node has shown for the camera: its clients never go back.
        const floor = this.shown.latest.get(action.frame.camera)?.seq ?? 0;
        queuePublish(pipeline, publishArgs(prepared, 'resync', floor, 0, nodeId, tileHistory));
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
            this.shown.keepIfNewer(withSeq(item, seq, 0), out);
          }
        }
      }
    } finally {
      // What was settled before a failure is delivered all the same.
      this.context.emit(out);
    }
    return { republished, refused };
  }

  /** The states Redis holds now for these cameras. */
  private async readStatesOf(cameras: readonly string[]): Promise<Map<string, ReadyFrame>> {
    const states = new Map<string, ReadyFrame>();
    const envelopes = await this.connections.commands.hmgetBuffer(REDIS_NAMES.states, ...cameras);
    for (const bytes of envelopes) {
      const envelope = bytes === null ? null : this.context.decode(bytes);
      if (envelope !== null && envelope.kind === 'camera') states.set(envelope.camera, frameOfEnvelope(envelope, this.context.nodeId));
    }
    return states;
  }
}
