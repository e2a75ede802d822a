// One wirecam node: the composition root. It builds the data flow in one place, in the
// order a camera row travels it, and owns the start and stop order:
//
//   store pool (workers/) ─ store tail (ingest/) ─▶ bus (bus/) ─▶ stream graph (pipeline/)
//     ─▶ hub (fanout/) ─▶ sockets, through the network edge (server/)
//
// Beside the flow: producers' writes into the store (ingest/), the --source-cmd command and
// the demo (ingest/), the map and resume (fanout/map-delivery.ts over bus/'s tile history),
// the camera sweep (fanout/), retention, and what the store's events do to health.
import type { AddressInfo } from 'node:net';
import type { Subscription as RxSubscription } from 'rxjs';
import type { ServeConfig } from './config.js';
import type { Logger } from './log.js';
import { RateLimitedLog } from './util/rate-limited-log.js';
import { describeError } from './util/describe-error.js';
import { openStore, resolveStorePath } from './store/open.js';
import { StorePool } from './store/worker-pool.js';
import type { Rejected } from './store/reader.js';
import { describeStoreReset, type StoreReset } from './store/sequence-reset.js';
import { WalBound } from './store/wal-bound.js';
import { Origins } from './ingest/origins.js';
import { StoreTail } from './ingest/store-tail.js';
import { ProducerWriter } from './ingest/producers.js';
import { runPath, type PathRunner } from './ingest/simulated-camera.js';
import { runTiles } from './ingest/simulated-tiles.js';
import { startCommandSource, type CommandUpdateQueue, type PtyCommandSource } from './ingest/pty-command.js';
import { configuredSecrets } from './ingest/command-secrets.js';
import type { Bus } from './bus/bus.js';
import { createBus } from './bus/create-bus.js';
import { RedisBus } from './bus/redis/redis-bus.js';
import { StoreTileHistory, type TileHistory } from './bus/tile-history.js';
import { RedisTileHistory } from './bus/redis/tile-history.js';
import { buildGraph } from './pipeline/graph.js';
import { Hub } from './fanout/hub.js';
import { CameraStates } from './fanout/camera-states.js';
import { CameraSweep } from './fanout/camera-sweep.js';
import { MapDeliveries } from './fanout/map-delivery.js';
import { AccessPolicy } from './server/access.js';
import { countRead, createCounters, type ServiceCounters } from './server/counters.js';
import type { Readiness, StoreEvents, StoreState } from './server/health.js';
import { ServiceEdge, withTimeout, type EdgeCore } from './server/edge.js';
import type { Session } from './server/session.js';
import type { ServiceLink } from './server/service-link.js';
import type { Registry } from 'prom-client';

/**
 * How long shutdown waits for queued producer updates to be stored (ms); those still queued
 * then are dropped, never acknowledged, and logged (README, "Security and operations").
 */
const SHUTDOWN_WRITE_WAIT_MS = 10_000;
/** How often retention runs (ms). */
const RETENTION_INTERVAL_MS = 60_000;
/** The demo writes a tile under its camera this often (ms): the map grows as it moves. */
const DEMO_TILE_EVERY_MS = 1500;
/** Updates of the in-process demo camera: acknowledged to nobody, excluded from no one. */
const DEMO_PRODUCER = { id: 0, acknowledge: () => undefined };
/** Updates of --source-cmd: likewise stored, then broadcast to everyone. */
const COMMAND_PRODUCER = { id: 0, acknowledge: () => undefined };
/** Producer updates waiting for the store beyond this are refused (WebSocket producers get no ack). */
const PRODUCER_QUEUE = 10_000;
/**
 * --source-cmd waits (stops reading its terminal) at this many queued updates, keeping the
 * rest of the queue for WebSocket producers, and reads again at COMMAND_RESUME_LEVEL.
 */
const COMMAND_QUEUE_LIMIT = PRODUCER_QUEUE / 2;
const COMMAND_RESUME_LEVEL = PRODUCER_QUEUE / 4;

/**
 * The running service: store workers, store tail, bus, stream graph, hub, and the network
 * edge (HTTP and WebSocket on one port). `WirecamNode.start` builds and starts it; `stop()`
 * stops it gracefully. Exported as `WirecamServer` too (src/index.ts), its public name.
 */
export class WirecamNode {
  /** What the service counts (reads, stores, refusals, errors sent), as /metrics and /healthz report it. */
  readonly counters: ServiceCounters = createCounters();
  /** The fanout: connected clients, the snapshot (`hub.cameras`) and delivery counters. */
  readonly hub: Hub;
  private readonly edge: ServiceEdge;
  private readonly pool: StorePool;
  private readonly cameras: CameraStates;
  /** Forgets cameras whose rows are gone from the store (not with --redis: other nodes' cameras are not in it). */
  private readonly cameraSweep: CameraSweep | null;
  private readonly origins = new Origins();
  private readonly tail: StoreTail;
  private readonly bus: Bus;
  private readonly history: TileHistory;
  private readonly producers: ProducerWriter;
  private readonly throttledLog = new RateLimitedLog(10_000);
  /** Set once the history is loaded (begin()); clients are accepted only after that. */
  private deliveries!: MapDeliveries;
  private graphSubscription: RxSubscription | null = null;
  private demo: PathRunner | null = null;
  private stopDemoTiles: (() => void) | null = null;
  private commandSource: PtyCommandSource | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private started = false;
  private storeState: { state: StoreState; error: string | null } = { state: 'ok', error: null };
  private readonly storeEvents: StoreEvents = { resets: 0, lastEvent: null, watch: 'polling' };

  private constructor(
    /** The settings in force, `db` resolved to the one absolute store path. */
    readonly config: ServeConfig,
    private readonly log: Logger,
    private readonly service: ServiceLink | undefined,
  ) {
    // Settings that can be wrong (token files, TLS files) are checked before anything starts.
    const access = new AccessPolicy({
      producerTokens: config['producer-token'],
      producerTokenFile: config['producer-token-file'],
      viewerTokens: config['viewer-token'],
      viewerTokenFile: config['viewer-token-file'],
      allowedOrigins: config['allowed-origin'],
      maxConnectionsPerIp: config['max-connections-per-ip'],
    });
    // In-process, or Redis when --redis names one (a bad URL or node id stops here too).
    this.bus = createBus(config, log);
    const cameras = new CameraStates({
      maxCameras: config['max-cameras'],
      onEvicted: (camera, count) =>
        this.log.warn({ camera, count, max_cameras: config['max-cameras'] }, 'too many cameras; forgot the least recently updated'),
    });
    this.cameras = cameras;
    this.hub = new Hub({ maxHz: config['max-hz'], burst: config.burst, observeLatency: (ms) => this.edge.metrics.observeLatency(ms), cameras });
    this.pool = new StorePool(config.db, { walMaxBytes: config['wal-max-bytes'], seqTemplates: config.redis !== undefined }, { maxCameras: config['max-cameras'] });
    this.cameraSweep =
      config.redis === undefined
        ? new CameraSweep(this.pool, cameras, {
            forgotten: (count) => this.log.info({ count, cameras: cameras.size }, 'forgot cameras no longer in the store'),
            failed: (error) => {
              if (this.throttledLog.admit('camera-sweep-failed') > 0) this.log.warn({ err: describeError(error) }, 'could not check which cameras the store still has');
            },
          })
        : null;
    this.tail = new StoreTail(
      this.pool,
      this.origins,
      { limit: config['batch-rows'], pollMs: config['poll-ms'] },
      {
        rejected: (rows) => this.rowsRejected(rows),
        failed: (error) => this.storeFailed(error),
        recovered: () => this.storeRecovered(),
        watching: (watched, rewatched) => this.storeWatching(watched, rewatched),
        reset: (reset) => this.storeReset(reset),
        wal: (outcome) => {
          if (outcome.state === 'pinned') {
            this.log.warn({ db: config.db, wal_bytes: outcome.bytes, wal_max_bytes: config['wal-max-bytes'] }, "the store's WAL is past --wal-max-bytes and a reader holds an old snapshot; it is truncated once that reader lets go");
          } else if (this.throttledLog.admit('wal-truncated') > 0) {
            this.log.info({ db: config.db, wal_bytes: outcome.bytes, wal_max_bytes: config['wal-max-bytes'] }, "the store's WAL passed --wal-max-bytes; checkpointed and truncated");
          }
        },
        beforePublish: () => this.producers.currentWrite(),
      },
    );
    // With Redis the history is the deployment's (any node serves a resume), else the store's.
    this.history =
      this.bus instanceof RedisBus
        ? new RedisTileHistory({ url: config.redis!, nodeId: this.bus.nodeId })
        : new StoreTileHistory(this.pool, () => this.tail.position.tile);
    this.producers = new ProducerWriter(
      this.pool,
      this.origins,
      { maxBatch: 500, maxQueued: PRODUCER_QUEUE, floor: () => this.tail.position },
      {
        stored: (count) => (this.counters.updatesStored += count),
        failed: (error, pending) => {
          if (this.throttledLog.admit('write-failed') > 0) {
            this.log.warn({ err: describeError(error), pending }, 'store write failed; retrying');
          }
        },
        committed: () => this.tail.nudge(),
      },
    );
    this.edge = new ServiceEdge(config, log, this.throttledLog, access, this.edgeCore());
  }

  /**
   * Opens the store, loads the snapshot, and listens. Errors name what failed. `config.db` is
   * resolved once here (resolveStorePath) and that one path is what every thread opens and
   * what `node.config.db` holds. Throws StoreOpenError, before anything starts, for a store
   * path that cannot be used (store/open.ts says which), ListenError (server/edge.ts) for a
   * port that cannot be listened on. `options.service`: with --workers N, the link to the rest
   * of the service (src/cluster/fanout-link.ts) that holds the client limits and answers
   * /metrics and the service's part of /healthz.
   */
  static async start(given: ServeConfig, log: Logger, options: { service?: ServiceLink } = {}): Promise<WirecamNode> {
    const config: ServeConfig = { ...given, db: resolveStorePath(given.db) };
    // Fails early, on the main thread, with the path and the reason; workers reopen it.
    openStore(config.db).close();
    const node = new WirecamNode(config, log, options.service);
    try {
      await node.begin();
    } catch (error) {
      await node.stop().catch(() => undefined);
      throw error;
    }
    return node;
  }

  /** The address and port listened on (the real port when --port 0 asked for any). */
  get address(): AddressInfo {
    return this.edge.address;
  }

  /** `ws://host:port/` (or `wss://` with TLS) once started. */
  get url(): string {
    return this.edge.url;
  }

  /** This node's own Prometheus registry (with --workers N, /metrics aggregates every process's). */
  get metricsRegistry(): Registry {
    return this.edge.metrics.registry;
  }

  /** The open WebSocket sessions. */
  get sessions(): ReadonlySet<Session> {
    return this.edge.sessions;
  }

  /** GET /readyz: ready once the store is open and the snapshot loaded, until stop() begins. */
  get readiness(): Readiness {
    return this.stopping ? 'stopping' : this.started ? 'ready' : 'starting';
  }

  /** What the network edge sees of this node (server/edge.ts EdgeCore). */
  private edgeCore(): EdgeCore {
    const node = this;
    return {
      counters: this.counters,
      hub: this.hub,
      producers: this.producers,
      pool: this.pool,
      get maps() {
        return node.deliveries;
      },
      epoch: () => this.history.epoch(),
      readiness: () => this.readiness,
      service: this.service,
      health: {
        store: () => this.storeHealth(),
        storeEvents: () => this.storeEvents,
        bus: () => this.bus.state(),
      },
      figures: {
        cursor: () => this.tail.position,
        storeReadable: () => this.storeState.state === 'ok',
        camerasForgotten: () => this.cameras.forgotten,
        walBytes: () => WalBound.sizeOf(`${this.config.db}-wal`),
        storeResets: () => this.storeEvents.resets,
      },
    };
  }

  /** The flow, from the store to the sockets, then the edge and what runs beside the flow. */
  private async begin(): Promise<void> {
    this.hub.seed(await this.bus.snapshot(await this.tail.snapshot()));
    this.deliveries = new MapDeliveries(
      this.hub,
      this.history,
      { batchRows: this.config['batch-rows'], maxHeld: this.config['map-held-tiles'] },
      this.edge.mapEvents,
      await this.history.start(),
    );
    // Rows read, for /metrics (a tap beside the flow, first as before).
    this.tail.frames.subscribe((frames) => countRead(this.counters, frames));
    // store tail → bus
    this.tail.frames.subscribe((frames) => this.bus.publish(frames));
    // bus → stream graph → hub (and the maps being sent, which hold live tiles back)
    this.graphSubscription = buildGraph([this.bus.frames], {
      maxHz: this.config['max-hz'],
      burst: this.config.burst,
      onCoalesced: (count) => this.hub.coalesced(count),
    }).subscribe((frame) => {
      this.deliveries.observe(frame);
      this.hub.publish(frame);
    });
    this.tail.start();
    this.started = true;
    await this.edge.listen();
    this.scheduleRetention();
    this.cameraSweep?.start();
    if (this.config.demo) {
      this.demo = runPath('main', 60, 0, (state) => this.producers.enqueue({ kind: 'camera', value: state }, DEMO_PRODUCER));
      this.stopDemoTiles = runTiles(DEMO_TILE_EVERY_MS, (tile) => this.producers.enqueue({ kind: 'tile', value: tile }, DEMO_PRODUCER));
    }
    const command = this.config['source-cmd'];
    if (command !== undefined) {
      const queue: CommandUpdateQueue = {
        offer: (update) => this.producers.enqueue(update, COMMAND_PRODUCER, COMMAND_QUEUE_LIMIT),
        room: () => this.producers.room(COMMAND_RESUME_LEVEL),
      };
      this.commandSource = await startCommandSource(command, queue, this.log, this.throttledLog, {
        secrets: configuredSecrets(this.config),
      });
    }
  }

  private rowsRejected(rows: readonly Rejected[]): void {
    for (const row of rows) {
      this.counters.rowsRejected[row.reason]++;
      const count = this.throttledLog.admit(`reject:${row.reason}`);
      if (count > 0) this.log.warn({ table: row.table, id: row.id, reason: row.reason, count }, 'skipped invalid row');
    }
  }

  private storeFailed(error: unknown): void {
    const message = describeError(error);
    if (this.storeState.state === 'ok') this.log.error({ err: message, db: this.config.db }, 'store cannot be read');
    this.storeState = { state: 'unavailable', error: message };
  }

  /** Readable or not (the tail), and whether producers' writes are stuck (another process's lock). */
  private storeHealth(): { state: StoreState; error: string | null } {
    if (this.storeState.state !== 'ok') return this.storeState;
    const stalled = this.producers.stalled(Date.now());
    return stalled === null ? this.storeState : { state: 'busy', error: stalled };
  }

  /**
   * The store's sequence space was reset and the worker recovered (sequence-reset.ts): one
   * log line, /healthz `store_event` and `store_resets`, and the snapshot new clients get
   * loses the cameras the store no longer holds (the others get their re-recorded state
   * next). With Redis, the snapshot holds every node's cameras and is left alone.
   */
  private storeReset(reset: StoreReset): void {
    this.storeEvents.resets++;
    this.storeEvents.lastEvent = describeStoreReset(reset);
    this.storeEpochChanged(reset.epoch, reset.cursor.tile);
    const forgotten = this.config.redis === undefined ? this.hub.retainOnly(new Set(reset.cameras)) : 0;
    this.log.warn(
      { db: this.config.db, cause: reset.cause, detail: reset.detail, camera_seq: reset.cursor.camera, tile_seq: reset.cursor.tile, cameras: reset.cameras.length, forgotten, epoch: reset.epoch },
      'store sequence space was reset',
    );
  }

  private storeWatching(watched: boolean, rewatched: boolean): void {
    this.storeEvents.watch = watched ? 'watched' : 'polling';
    if (rewatched) {
      this.storeEvents.lastEvent = `folder replaced at ${new Date().toISOString()}; the new folder is watched`;
      this.log.warn({ db: this.config.db }, "the store's folder was replaced; watching the new one");
    } else if (watched) this.log.debug({ db: this.config.db }, 'store changes are watched (woken by the kernel)');
    else this.log.warn({ db: this.config.db, poll_ms: this.config['poll-ms'] }, "the store's folder cannot be watched; polling for commits");
  }

  /** The store's sequence space was reset: its new epoch, and tiles up to `tileSeq` never published. */
  private storeEpochChanged(epoch: string, tileSeq: number): void {
    this.history.replaced?.(epoch);
    this.deliveries?.raise(tileSeq);
  }

  private storeRecovered(): void {
    this.storeState = { state: 'ok', error: null };
    this.log.info({ db: this.config.db }, 'store readable again');
  }

  private scheduleRetention(): void {
    const policy = { maxAgeMs: this.config['retain-seconds'] * 1000, maxRows: this.config['retain-rows'] };
    if (policy.maxAgeMs === 0 && policy.maxRows === 0) return;
    const prune = () => {
      this.pool.prune(policy).then(
        ({ deleted, tilesPrunedThrough }) => {
          if (deleted > 0) this.log.debug({ deleted, tiles_pruned_through: tilesPrunedThrough }, 'retention pruned rows');
        },
        (error: unknown) => this.log.warn({ err: describeError(error) }, 'retention failed'),
      );
    };
    // Once at start too: a store that grew while the service was down is bounded at once
    // (and the resume horizon, docs/protocol.md section 9, moves with it).
    prune();
    this.retentionTimer = setInterval(prune, RETENTION_INTERVAL_MS);
    this.retentionTimer.unref();
  }

  /** Resolves when the updates read from --source-cmd are queued and every queued update is stored. */
  private async queuedUpdatesStored(): Promise<void> {
    await this.commandSource?.drained();
    await this.producers.idle();
  }

  /**
   * Graceful stop: no new WebSocket connections (503) or updates, queued updates stored and
   * acknowledged (waited for at most SHUTDOWN_WRITE_WAIT_MS), every client closed with 1001,
   * then the flow from the sockets back to the store: graph, sweep, tail, bus, history,
   * workers. Plain HTTP keeps answering until the very end (/readyz 503 `stopping`, /healthz
   * as before), so a load balancer sees the node leave instead of a refused port.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.demo?.stop();
    this.stopDemoTiles?.();
    await this.commandSource?.stop();
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    await withTimeout(this.queuedUpdatesStored(), SHUTDOWN_WRITE_WAIT_MS);
    const abandoned = this.producers.abandon() + (this.commandSource?.abandon() ?? 0);
    if (abandoned > 0) this.log.warn({ abandoned }, 'updates not stored at shutdown (never acknowledged)');
    await this.producers.currentWrite();
    await this.edge.closeSessions();
    this.graphSubscription?.unsubscribe();
    await this.cameraSweep?.stop();
    await this.tail.stop();
    await this.bus.stop();
    await this.history.stop?.();
    await this.pool.close();
    this.edge.closeListener();
    this.edge.closeAllConnections();
  }
}
