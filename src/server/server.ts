// The running service: store workers, stream graph, hub, HTTP and WebSocket on one port.
// This file wires the parts together and owns their start and stop order.
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Subscription as RxSubscription } from 'rxjs';
import type { ServeConfig } from '../config.js';
import type { Logger } from '../log.js';
import { RateLimitedLog } from '../log.js';
import { VERSION } from '../version.js';
import { describeError } from '../util/describe-error.js';
import { encodeFrame } from '../protocol/encode.js';
import { CLOSE_GOING_AWAY, CLOSE_SLOW_CONSUMER, PROTOCOL_NAME, type Hello } from '../protocol/messages.js';
import { openStore, resolveStorePath } from '../store/open.js';
import { StorePool } from '../store/worker-pool.js';
import type { Rejected } from '../store/reader.js';
import { Origins } from '../ingest/origins.js';
import { StoreTail } from '../ingest/store-tail.js';
import type { Bus } from '../bus/bus.js';
import { createBus } from '../bus/create-bus.js';
import { ProducerWriter } from '../ingest/producers.js';
import { runPath, type PathRunner } from '../ingest/simulated-camera.js';
import { runTiles } from '../ingest/simulated-tiles.js';
import { startCommandSource, type PtyCommandSource } from '../ingest/pty-command.js';
import { configuredSecrets } from '../ingest/command-secrets.js';
import { StaticAssets } from './assets.js';
import { buildGraph } from '../pipeline/graph.js';
import { Hub } from '../fanout/hub.js';
import { CameraStates } from '../fanout/camera-states.js';
import { CameraSweep } from '../fanout/camera-sweep.js';
import type { FanoutClient } from '../fanout/client.js';
import { MapDeliveries } from '../fanout/map-delivery.js';
import { StoreTileHistory, type TileHistory } from '../bus/tile-history.js';
import { RedisTileHistory } from '../bus/redis/tile-history.js';
import { RedisBus } from '../bus/redis/redis-bus.js';
import { WebSocketTransport } from '../fanout/ws-transport.js';
import { AccessPolicy } from './access.js';
import { createListener } from './listener.js';
import { admit, remoteAddress, type Admission } from './upgrade.js';
import { Refusals, wsHandshakeRefusal } from './refusal.js';
import { ConnectionGuard } from './descriptors.js';
import { chooseSubprotocol } from '../protocol/negotiate.js';
import { Session, toSubscription, type SessionContext } from './session.js';
import { Liveness } from './liveness.js';
import { countRead, createCounters, type ServiceCounters } from './counters.js';
import { ServiceMetrics } from './metrics.js';
import { handleHttp } from './http.js';
import { indexPage } from './index-page.js';
import type { Readiness, StoreEvents, StoreState } from './health.js';
import { describeStoreReset, type StoreReset } from '../store/sequence-reset.js';
import { WalBound } from '../store/wal-bound.js';

export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/** How long shutdown waits for queued producer updates to be stored. */
const SHUTDOWN_WRITE_WAIT_MS = 10_000;
/** How long shutdown waits for clients to answer the 1001 close. */
const SHUTDOWN_CLOSE_WAIT_MS = 2_000;
const RETENTION_INTERVAL_MS = 60_000;
/** RFC 6455 section 7.4.1: the server met a condition that kept it from serving the request. */
const CLOSE_INTERNAL_ERROR = 1011;

export class WirecamServer {
  readonly counters: ServiceCounters = createCounters();
  readonly hub: Hub;
  readonly sessions = new Set<Session>();
  readonly metrics: ServiceMetrics;
  private readonly startedAt = Date.now();
  private readonly pool: StorePool;
  /** Forgets cameras whose rows are gone from the store (not with --redis: other nodes' cameras are not in it). */
  private readonly cameraSweep: CameraSweep | null;
  private readonly origins = new Origins();
  private readonly tail: StoreTail;
  private readonly bus: Bus;
  private readonly producers: ProducerWriter;
  private readonly liveness: Liveness;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly access: AccessPolicy;
  private readonly refusals: Refusals;
  private readonly connectionGuard: ConnectionGuard;
  private readonly secure: boolean;
  private readonly throttledLog = new RateLimitedLog(10_000);
  private graphSubscription: RxSubscription | null = null;
  private demo: PathRunner | null = null;
  private stopDemoTiles: (() => void) | null = null;
  private commandSource: PtyCommandSource | null = null;
  private readonly assets = new StaticAssets();
  private retentionTimer: NodeJS.Timeout | null = null;
  private nextClientId = 1;
  private stopping = false;
  private started = false;
  private storeState: { state: StoreState; error: string | null } = { state: 'ok', error: null };
  private readonly storeEvents: StoreEvents = { resets: 0, lastEvent: null, watch: 'polling' };
  private readonly sessionContext: SessionContext;
  private readonly history: TileHistory;
  /** Set once the history is loaded (begin()); clients are accepted only after that. */
  private deliveries!: MapDeliveries;
  private readonly sessionOf = new WeakMap<FanoutClient, Session>();

  private constructor(
    readonly config: ServeConfig,
    private readonly log: Logger,
  ) {
    // Settings that can be wrong (token files, TLS files) are checked before anything starts.
    this.access = new AccessPolicy({
      producerTokens: config['producer-token'],
      producerTokenFile: config['producer-token-file'],
      viewerTokens: config['viewer-token'],
      viewerTokenFile: config['viewer-token-file'],
      allowedOrigins: config['allowed-origin'],
      maxConnectionsPerIp: config['max-connections-per-ip'],
    });
    this.refusals = new Refusals(this.counters, this.access);
    // In-process, or Redis when --redis names one (a bad URL or node id stops here too).
    this.bus = createBus(config, log);
    const cameras = new CameraStates({
      maxCameras: config['max-cameras'],
      onEvicted: (camera, count) =>
        this.log.warn({ camera, count, max_cameras: config['max-cameras'] }, 'too many cameras; forgot the least recently updated'),
    });
    this.hub = new Hub({ maxHz: config['max-hz'], burst: config.burst, observeLatency: (ms) => this.metrics.observeLatency(ms), cameras });
    this.pool = new StorePool(config.db, { walMaxBytes: config['wal-max-bytes'] }, { maxCameras: config['max-cameras'] });
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
      { maxBatch: 500, maxQueued: 10_000, floor: () => this.tail.position },
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
    this.liveness = new Liveness(
      this.sessions,
      {
        heartbeatMs: config['heartbeat-ms'],
        idleTimeoutMs: config['idle-timeout-ms'],
        slowConsumerGraceMs: config['slow-consumer-grace-ms'],
      },
      this.counters,
      (session, bufferedBytes) => {
        const count = this.throttledLog.admit('slow-consumer');
        if (count > 0) this.log.warn({ session: session.id, buffered_bytes: bufferedBytes, count }, 'closed slow consumer');
      },
    );
    const listener = createListener(
      { tlsCert: config['tls-cert'], tlsKey: config['tls-key'], handshakeTimeoutMs: config['handshake-timeout-ms'] },
      (request, response) =>
      handleHttp(
        {
          health: {
            startedAt: this.startedAt,
            clients: () => this.sessions.size,
            cameras: () => this.hub.cameraCount,
            lastUpdateAt: () => this.hub.lastPublishedAt,
            store: () => this.storeHealth(),
            storeEvents: () => this.storeEvents,
            bus: () => this.bus.state(),
            connections: () => this.connectionGuard.health(),
          },
          indexPage: () => indexPage(this.url, VERSION),
          asset: (pathname) => this.assets.get(pathname),
          readiness: () => this.readiness,
          metrics: () => this.metrics.render(),
        },
        request,
        response,
      ),
    );
    this.http = listener.server;
    this.secure = listener.secure;
    // Requests Node's parser cannot read, headers over the size limit, the request deadline.
    this.http.on('clientError', (error: Error, socket: Duplex) => this.refusals.clientError(error, socket));
    this.connectionGuard = new ConnectionGuard(this.http, this.counters, log);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config['max-message-bytes'],
      perMessageDeflate: false,
      clientTracking: false,
      // The same choice admission made; legacy clients offered none and get none.
      handleProtocols: (_offered, request) => {
        const mode = chooseSubprotocol(request.headers['sec-websocket-protocol']);
        return mode.ok && mode.value.subprotocol !== null ? mode.value.subprotocol : false;
      },
    });
    // ws's own handshake checks (Sec-WebSocket-Key, version, method): answered and counted here.
    this.wss.on('wsClientError', (error: Error, socket: Duplex) => this.refusals.refuse(socket, wsHandshakeRefusal(error)));
    this.metrics = new ServiceMetrics({
      version: VERSION,
      counters: this.counters,
      hub: this.hub,
      sessions: this.sessions,
      pool: this.pool,
      cursor: () => this.tail.position,
      storeReadable: () => this.storeState.state === 'ok',
      camerasForgotten: () => cameras.forgotten,
      walBytes: () => WalBound.sizeOf(`${config.db}-wal`),
      storeResets: () => this.storeEvents.resets,
    });
    this.sessionContext = {
      hub: this.hub,
      producers: this.producers,
      counters: this.counters,
      maxHz: config['max-hz'],
      maxProducerRate: config['max-producer-rate'],
      accepting: () => !this.stopping,
    };
  }

  /**
   * Opens the store, loads the snapshot, and listens. Errors name what failed. `config.db` is
   * resolved once here (resolveStorePath) and that one path is what every thread opens and
   * what `server.config.db` holds. Throws StoreOpenError, before anything starts, for a store
   * path that cannot be used (store/open.ts says which).
   */
  static async start(given: ServeConfig, log: Logger): Promise<WirecamServer> {
    const config: ServeConfig = { ...given, db: resolveStorePath(given.db) };
    // Fails early, on the main thread, with the path and the reason; workers reopen it.
    openStore(config.db).close();
    const server = new WirecamServer(config, log);
    try {
      await server.begin();
    } catch (error) {
      await server.stop().catch(() => undefined);
      throw error;
    }
    return server;
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  get url(): string {
    const { address, port, family } = this.address;
    const host = family === 'IPv6' ? `[${address}]` : address;
    return `${this.secure ? 'wss' : 'ws'}://${host}:${port}/`;
  }

  /** GET /readyz: ready once the store is open and the snapshot loaded, until stop() begins. */
  get readiness(): Readiness {
    return this.stopping ? 'stopping' : this.started ? 'ready' : 'starting';
  }

  private async begin(): Promise<void> {
    this.hub.seed(await this.bus.snapshot(await this.tail.snapshot()));
    this.deliveries = new MapDeliveries(
      this.hub,
      this.history,
      { batchRows: this.config['batch-rows'], maxHeld: this.config['map-held-tiles'] },
      {
        planned: (client, plan, tileSeq) => {
          const hello = this.sessionOf.get(client)?.hello;
          if (hello) client.send(encodeFrame({ ...hello, tile_seq: tileSeq, recovered: plan.recovered }, hello.encoding));
        },
        failed: (client, reason, error) => {
          const detail = error === undefined ? reason : `${reason}: ${describeError(error)}`;
          if (this.throttledLog.admit('map-failed') > 0) this.log.warn({ err: detail }, 'map not sent; client closed, it may reconnect and resume');
          this.sessionOf.get(client)?.close(error === undefined ? CLOSE_SLOW_CONSUMER : CLOSE_INTERNAL_ERROR, error === undefined ? 'too many tiles held' : 'map unavailable');
        },
        delivered: (client, tiles, ms) => this.log.debug({ session: client.id, tiles, ms }, 'map sent'),
      },
      await this.history.start(),
    );
    this.tail.frames.subscribe((frames) => {
      countRead(this.counters, frames);
      this.bus.publish(frames);
    });
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
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
    await this.listen();
    this.connectionGuard.start();
    this.liveness.start();
    this.scheduleRetention();
    this.cameraSweep?.start();
    if (this.config.demo) {
      this.demo = runPath('main', 60, 0, (state) => this.producers.enqueue({ kind: 'camera', value: state }, DEMO_PRODUCER));
      this.stopDemoTiles = runTiles(DEMO_TILE_EVERY_MS, (tile) => this.producers.enqueue({ kind: 'tile', value: tile }, DEMO_PRODUCER));
    }
    const command = this.config['source-cmd'];
    if (command !== undefined) {
      this.commandSource = await startCommandSource(command, (update) => this.producers.enqueue(update, COMMAND_PRODUCER), this.log, this.throttledLog, {
        secrets: configuredSecrets(this.config),
      });
    }
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        const where = `${this.config.host}:${this.config.port}`;
        if (error.code === 'EADDRINUSE') reject(new ListenError(`port ${this.config.port} on ${this.config.host} is already in use`));
        else if (error.code === 'EACCES') reject(new ListenError(`not allowed to listen on ${where}`));
        else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new ListenError(`cannot listen on ${where}: no such local address`));
        else reject(new ListenError(`cannot listen on ${where}: ${error.message}`));
      };
      this.http.once('error', onError);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.stopping) {
      this.refusals.refuse(socket, { status: 503, reason: 'shutting_down', message: 'server is shutting down' });
      return;
    }
    const result = admit(request, {
      maxHz: this.config['max-hz'],
      access: this.access,
      atCapacity: () => this.sessions.size >= this.config['max-clients'],
    });
    if (!result.ok) {
      this.refusals.refuse(socket, result);
      return;
    }
    const admission = result.value;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.connect(ws, admission, remoteAddress(request)));
  }

  private connect(ws: WebSocket, admission: Admission, address: string): void {
    this.access.connected(address);
    const id = this.nextClientId++;
    const { mode, subscription, role, tiles } = admission;
    const hello: Hello | null =
      mode.subprotocol === null
        ? null
        : {
            type: 'hello',
            protocol: PROTOCOL_NAME,
            encoding: mode.encoding,
            server: `wirecam/${VERSION}`,
            session: randomUUID(),
            role,
            cameras: subscription.cameras,
            max_hz: subscription.maxHz,
            heartbeat_ms: this.config['heartbeat-ms'],
            epoch: this.history.epoch(),
            tile_seq: this.deliveries.tileSeq,
            recovered: false,
          };
    // Broadcast frames are written straight to the socket, bypassing ws's per-send framing:
    // they were framed once for everyone. ws still owns reading, pings and the close handshake.
    const format = mode.subprotocol === null ? 'legacy' : mode.encoding;
    const fanoutSubscription = toSubscription(subscription.cameras, subscription.maxHz, tiles.tiles !== 'none');
    const transport = new WebSocketTransport(ws);
    const limit = {
      maxBytes: this.config['slow-consumer-bytes'],
      // Called from a later turn than the join: `session` is set by then.
      overflowed: (heldBytes: number) => this.liveness.closeSlowConsumer(session, heldBytes),
    };
    // A map or a resume first (PROTOCOL.md section 9): hello when the plan is known, then the
    // tiles, then the snapshot and live updates (map-delivery.ts).
    const withMap = hello !== null && (tiles.tiles === 'map' || tiles.resume !== null);
    const client = withMap
      ? this.hub.register(id, format, transport, fanoutSubscription, limit)
      : this.hub.join(id, format, transport, fanoutSubscription, hello === null ? undefined : encodeFrame(hello, mode.encoding), limit);
    const session = new Session(id, ws, client, role, mode.encoding, this.sessionContext, hello);
    this.sessions.add(session);
    this.sessionOf.set(client, session);
    if (withMap) void this.deliveries.deliver(client, tiles, () => ({ epoch: this.history.epoch() }));
    ws.on('message', (data: Buffer, isBinary: boolean) => session.handle(data, isBinary));
    ws.on('pong', () => session.heard());
    ws.on('ping', () => session.heard());
    ws.on('error', () => undefined); // e.g. a frame over the size limit: ws closes with 1009 itself
    ws.on('close', () => {
      this.hub.leave(client);
      this.sessions.delete(session);
      this.access.disconnected(address);
    });
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
          this.history.pruned?.(tilesPrunedThrough);
          if (deleted > 0) this.log.debug({ deleted, tiles_pruned_through: tilesPrunedThrough }, 'retention pruned rows');
        },
        (error: unknown) => this.log.warn({ err: describeError(error) }, 'retention failed'),
      );
    };
    // Once at start too: a store that grew while the service was down is bounded at once,
    // and the resume horizon (PROTOCOL.md section 9) is known from the first client on.
    prune();
    this.retentionTimer = setInterval(prune, RETENTION_INTERVAL_MS);
    this.retentionTimer.unref();
  }

  /**
   * Graceful stop: no new connections or updates, queued updates stored and acknowledged,
   * every client closed with 1001, workers stopped.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.demo?.stop();
    this.stopDemoTiles?.();
    await this.commandSource?.stop();
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    this.http.close();
    await withTimeout(this.producers.idle(), SHUTDOWN_WRITE_WAIT_MS);
    const abandoned = this.producers.abandon();
    if (abandoned > 0) this.log.warn({ abandoned }, 'updates not stored at shutdown (never acknowledged)');
    this.liveness.stop();
    const closed = [...this.sessions].map(
      (session) => new Promise<void>((resolve) => {
        session.ws.once('close', () => resolve());
        session.close(CLOSE_GOING_AWAY, 'server shutting down', SHUTDOWN_CLOSE_WAIT_MS);
      }),
    );
    await withTimeout(Promise.all(closed), SHUTDOWN_CLOSE_WAIT_MS + 500);
    this.graphSubscription?.unsubscribe();
    await this.cameraSweep?.stop();
    await this.tail.stop();
    await this.bus.stop();
    await this.history.stop?.();
    await this.pool.close();
    this.http.closeAllConnections();
  }
}

/** The demo writes a tile under its camera this often (ms): the map grows as it moves. */
const DEMO_TILE_EVERY_MS = 1500;
/** Updates of the in-process demo camera: acknowledged to nobody, excluded from no one. */
const DEMO_PRODUCER = { id: 0, acknowledge: () => undefined };
/** Updates of --source-cmd: likewise stored, then broadcast to everyone. */
const COMMAND_PRODUCER = { id: 0, acknowledge: () => undefined };

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
