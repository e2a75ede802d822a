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
import { encodeFrame } from '../protocol/encode.js';
import { CLOSE_GOING_AWAY, PROTOCOL_NAME, type Hello } from '../protocol/messages.js';
import { openStore } from '../store/open.js';
import { StorePool } from '../store/worker-pool.js';
import type { Rejected } from '../store/reader.js';
import { Origins } from '../sources/origins.js';
import { StoreTail } from '../sources/store-tail.js';
import type { Bus } from '../sources/bus.js';
import { createBus } from '../sources/create-bus.js';
import { ProducerWriter } from '../sources/producers.js';
import { runPath, type PathRunner } from '../sources/simulated-camera.js';
import { startCommandSource, type PtyCommandSource } from '../sources/pty-command.js';
import { StaticAssets } from './assets.js';
import { buildGraph } from '../pipeline/graph.js';
import { Hub } from '../fanout/hub.js';
import { WebSocketTransport } from '../fanout/ws-transport.js';
import { AccessPolicy } from './access.js';
import { createListener } from './listener.js';
import { admit, refuseUpgrade, remoteAddress, type Admission } from './upgrade.js';
import { chooseSubprotocol } from '../protocol/negotiate.js';
import { Session, toSubscription, type SessionContext } from './session.js';
import { Liveness } from './liveness.js';
import { countRead, createCounters, type ServiceCounters } from './counters.js';
import { ServiceMetrics } from './metrics.js';
import { handleHttp } from './http.js';
import { indexPage } from './index-page.js';
import type { Readiness, StoreState } from './health.js';

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

export class WirecamServer {
  readonly counters: ServiceCounters = createCounters();
  readonly hub: Hub;
  readonly sessions = new Set<Session>();
  readonly metrics: ServiceMetrics;
  private readonly startedAt = Date.now();
  private readonly pool: StorePool;
  private readonly origins = new Origins();
  private readonly tail: StoreTail;
  private readonly bus: Bus;
  private readonly producers: ProducerWriter;
  private readonly liveness: Liveness;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly access: AccessPolicy;
  private readonly secure: boolean;
  private readonly throttledLog = new RateLimitedLog(10_000);
  private graphSubscription: RxSubscription | null = null;
  private demo: PathRunner | null = null;
  private commandSource: PtyCommandSource | null = null;
  private readonly assets = new StaticAssets();
  private retentionTimer: NodeJS.Timeout | null = null;
  private nextClientId = 1;
  private stopping = false;
  private started = false;
  private storeState: { state: StoreState; error: string | null } = { state: 'ok', error: null };
  private readonly sessionContext: SessionContext;

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
    // In-process, or Redis when --redis names one (a bad URL or node id stops here too).
    this.bus = createBus(config, log);
    this.hub = new Hub({ maxHz: config['max-hz'], burst: config.burst, observeLatency: (ms) => this.metrics.observeLatency(ms) });
    this.pool = new StorePool(config.db);
    this.tail = new StoreTail(
      this.pool,
      this.origins,
      { limit: config['batch-rows'], pollMs: config['poll-ms'] },
      {
        rejected: (rows) => this.rowsRejected(rows),
        failed: (error) => this.storeFailed(error),
        recovered: () => this.storeRecovered(),
        watching: (watched) => {
          if (watched) this.log.debug({ db: config.db }, 'store changes are watched (woken by the kernel)');
          else this.log.warn({ db: config.db, poll_ms: config['poll-ms'] }, "the store's folder cannot be watched; polling for commits");
        },
        replaced: (cursor) =>
          this.log.warn({ db: config.db, camera_seq: cursor.camera, tile_seq: cursor.tile }, 'store file was replaced; reading continues after its newest rows, seq keeps increasing'),
        beforePublish: () => this.producers.currentWrite(),
      },
    );
    this.producers = new ProducerWriter(
      this.pool,
      this.origins,
      { maxBatch: 500, maxQueued: 10_000, floor: () => this.tail.position },
      {
        stored: (count) => (this.counters.updatesStored += count),
        failed: (error, pending) => {
          if (this.throttledLog.admit('write-failed') > 0) {
            this.log.warn({ err: describe(error), pending }, 'store write failed; retrying');
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
        slowConsumerBytes: config['slow-consumer-bytes'],
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
            bus: () => this.bus.state(),
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
    this.metrics = new ServiceMetrics({
      version: VERSION,
      counters: this.counters,
      hub: this.hub,
      sessions: this.sessions,
      pool: this.pool,
      cursor: () => this.tail.position,
      storeReadable: () => this.storeState.state === 'ok',
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

  /** Opens the store, loads the snapshot, and listens. Errors name what failed. */
  static async start(config: ServeConfig, log: Logger): Promise<WirecamServer> {
    // Fails early, on the main thread, with the path in the message; workers reopen it.
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
    this.tail.frames.subscribe((frames) => {
      countRead(this.counters, frames);
      this.bus.publish(frames);
    });
    this.graphSubscription = buildGraph([this.bus.frames], {
      maxHz: this.config['max-hz'],
      burst: this.config.burst,
      onCoalesced: (count) => this.hub.coalesced(count),
    }).subscribe((frame) => this.hub.publish(frame));
    this.tail.start();
    this.started = true;
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
    await this.listen();
    this.liveness.start();
    this.scheduleRetention();
    if (this.config.demo) {
      this.demo = runPath('main', 60, 0, (state) => this.producers.enqueue({ kind: 'camera', value: state }, DEMO_PRODUCER));
    }
    const command = this.config['source-cmd'];
    if (command !== undefined) {
      this.commandSource = await startCommandSource(command, (update) => this.producers.enqueue(update, COMMAND_PRODUCER), this.log, this.throttledLog);
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
      refuseUpgrade(socket, 503, 'server is shutting down');
      return;
    }
    const result = admit(request, {
      maxHz: this.config['max-hz'],
      access: this.access,
      atCapacity: () => this.sessions.size >= this.config['max-clients'],
    });
    if (!result.ok) {
      this.counters.upgradesRefused[result.status] = (this.counters.upgradesRefused[result.status] ?? 0) + 1;
      refuseUpgrade(socket, result.status, result.message);
      return;
    }
    const admission = result.value;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.connect(ws, admission, remoteAddress(request)));
  }

  private connect(ws: WebSocket, admission: Admission, address: string): void {
    this.access.connected(address);
    const id = this.nextClientId++;
    const { mode, subscription, role } = admission;
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
          };
    // Broadcast frames are written straight to the socket, bypassing ws's per-send framing:
    // they were framed once for everyone. ws still owns reading, pings and the close handshake.
    const client = this.hub.join(
      id,
      mode.encoding,
      new WebSocketTransport(ws),
      toSubscription(subscription.cameras, subscription.maxHz),
      hello === null ? undefined : encodeFrame(hello, mode.encoding),
      {
        maxBytes: this.config['slow-consumer-bytes'],
        // Called from a later turn than the join: `session` is set by then.
        overflowed: (heldBytes) => this.liveness.closeSlowConsumer(session, heldBytes),
      },
    );
    const session = new Session(id, ws, client, role, mode.encoding, this.sessionContext);
    this.sessions.add(session);
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
    const message = describe(error);
    if (this.storeState.state === 'ok') this.log.error({ err: message, db: this.config.db }, 'store cannot be read');
    this.storeState = { state: 'unavailable', error: message };
  }

  /** Readable or not (the tail), and whether producers' writes are stuck (another process's lock). */
  private storeHealth(): { state: StoreState; error: string | null } {
    if (this.storeState.state !== 'ok') return this.storeState;
    const stalled = this.producers.stalled(Date.now());
    return stalled === null ? this.storeState : { state: 'busy', error: stalled };
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
        ({ deleted }) => {
          if (deleted > 0) this.log.debug({ deleted }, 'retention pruned rows');
        },
        (error: unknown) => this.log.warn({ err: describe(error) }, 'retention failed'),
      );
    };
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
    await this.tail.stop();
    await this.bus.stop();
    await this.pool.close();
    this.http.closeAllConnections();
  }
}

/** Updates of the in-process demo camera: acknowledged to nobody, excluded from no one. */
const DEMO_PRODUCER = { id: 0, acknowledge: () => undefined };
/** Updates of --source-cmd: likewise stored, then broadcast to everyone. */
const COMMAND_PRODUCER = { id: 0, acknowledge: () => undefined };

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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
