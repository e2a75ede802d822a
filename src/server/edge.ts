// The network edge of a node: the HTTP listener (plain or TLS), the WebSocket upgrade and its
// admission, refusals, sessions and their liveness, /healthz, /readyz, /metrics and the
// viewer's assets. It owns no part of the data flow: the node (src/node.ts) feeds it through
// `EdgeCore` and owns the start and stop order.
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServeConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { VERSION } from '../version.js';
import { describeError } from '../util/describe-error.js';
import { encodeFrame } from '../protocol/encode.js';
import { CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_SLOW_CONSUMER, PROTOCOL_NAME, type Hello } from '../protocol/messages.js';
import { chooseSubprotocol } from '../protocol/negotiate.js';
import type { ProducerWriter } from '../ingest/producers.js';
import type { Hub } from '../fanout/hub.js';
import type { FanoutClient } from '../fanout/client.js';
import type { MapDeliveries, MapDeliveryEvents } from '../fanout/map-delivery.js';
import { WebSocketTransport } from '../fanout/ws-transport.js';
import { StaticAssets } from './assets.js';
import type { AccessPolicy } from './access.js';
import { createListener } from './listener.js';
import { admit, remoteAddress, type Admission } from './upgrade.js';
import { Refusals, wsHandshakeRefusal } from './refusal.js';
import { ConnectionGuard } from './descriptors.js';
import { Session, toSubscription, type SessionContext } from './session.js';
import { Liveness } from './liveness.js';
import type { ServiceCounters } from './counters.js';
import { ServiceMetrics, type MetricsSource } from './metrics.js';
import { handleHttp } from './http.js';
import { indexPage } from './index-page.js';
import type { HealthSource, Readiness } from './health.js';
import type { ServiceLink } from './service-link.js';

/** The port cannot be listened on (in use, not allowed, no such address); the message says which. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/** How long shutdown waits for clients to answer the 1001 close (ms). */
const SHUTDOWN_CLOSE_WAIT_MS = 2_000;

/** What the edge takes from its node (src/node.ts): the one interface between them. */
export interface EdgeCore {
  /** The service's counters (reads, stores, refusals), shared with the node. */
  readonly counters: ServiceCounters;
  /** Where clients join and leave. */
  readonly hub: Hub;
  /** Where producers' updates go (session.ts). */
  readonly producers: ProducerWriter;
  /** The store pool as /metrics reports it. */
  readonly pool: MetricsSource['pool'];
  /** The map and resume (docs/protocol.md section 9); set before the first upgrade is taken. */
  readonly maps: MapDeliveries;
  /** The tile history's epoch now (hello.epoch). */
  epoch(): string;
  /** GET /readyz; `stopping` also refuses upgrades and producers' updates. */
  readiness(): Readiness;
  /** What /healthz says of the store and the bus. */
  readonly health: Required<Pick<HealthSource, 'store' | 'storeEvents' | 'bus'>>;
  /** What /metrics says of the store and the cameras. */
  readonly figures: Pick<MetricsSource, 'cursor' | 'storeReadable' | 'camerasForgotten' | 'walBytes' | 'storeResets'>;
  /**
   * With --workers N: the rest of the service (src/cluster/), which holds the client limits
   * and answers /metrics and the service's part of /healthz. Absent: this node is the service.
   */
  readonly service?: ServiceLink;
}

/**
 * The HTTP and WebSocket side of one node. Built by the node after its core (the hub, the
 * pool) exists; `listen()` starts taking connections; `close…()` are the steps of the node's
 * stop order. Throws (from the constructor) for TLS files that cannot be read.
 */
export class ServiceEdge {
  /** Open WebSocket sessions; a session leaves when its socket closes. */
  readonly sessions = new Set<Session>();
  /** GET /metrics, and the hub's latency tap (`observeLatency`). */
  readonly metrics: ServiceMetrics;
  /** The hooks map delivery calls (fanout/map-delivery.ts): hello first, or a close. */
  readonly mapEvents: MapDeliveryEvents;
  private readonly startedAt = Date.now();
  private readonly liveness: Liveness;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly refusals: Refusals;
  private readonly connectionGuard: ConnectionGuard;
  private readonly secure: boolean;
  private readonly assets = new StaticAssets();
  private readonly sessionContext: SessionContext;
  private readonly sessionOf = new WeakMap<FanoutClient, Session>();
  private nextClientId = 1;

  constructor(
    private readonly config: ServeConfig,
    private readonly log: Logger,
    private readonly throttledLog: RateLimitedLog,
    private readonly access: AccessPolicy,
    private readonly core: EdgeCore,
  ) {
    const counters = core.counters;
    this.refusals = new Refusals(counters, access);
    this.liveness = new Liveness(
      this.sessions,
      {
        heartbeatMs: config['heartbeat-ms'],
        idleTimeoutMs: config['idle-timeout-ms'],
        slowConsumerGraceMs: config['slow-consumer-grace-ms'],
      },
      counters,
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
            cameras: () => core.hub.cameraCount,
            lastUpdateAt: () => core.hub.lastPublishedAt,
            ...core.health,
            connections: () => this.connectionGuard.health(),
          },
          indexPage: () => indexPage(this.url, VERSION),
          asset: (pathname) => this.assets.get(pathname),
          readiness: () => core.readiness(),
          metrics: () => (core.service === undefined ? this.metrics.render() : core.service.metrics()),
          service: core.service === undefined ? undefined : () => core.service!.service(),
        },
        request,
        response,
      ),
    );
    this.http = listener.server;
    this.secure = listener.secure;
    // Requests Node's parser cannot read, headers over the size limit, the request deadline.
    this.http.on('clientError', (error: Error, socket: Duplex) => this.refusals.clientError(error, socket));
    this.connectionGuard = new ConnectionGuard(this.http, counters, log);
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
      counters,
      hub: core.hub,
      sessions: this.sessions,
      pool: core.pool,
      ...core.figures,
    });
    this.sessionContext = {
      hub: core.hub,
      producers: core.producers,
      counters,
      maxHz: config['max-hz'],
      maxProducerRate: config['max-producer-rate'],
      heartbeatMs: config['heartbeat-ms'],
      accepting: () => core.readiness() !== 'stopping',
    };
    this.mapEvents = {
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
    };
  }

  /** The address and port listened on, once `listen()` resolved (the real port for port 0). */
  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  /** `ws://host:port/` or `wss://…` once listening. */
  get url(): string {
    const { address, port, family } = this.address;
    const host = family === 'IPv6' ? `[${address}]` : address;
    return `${this.secure ? 'wss' : 'ws'}://${host}:${port}/`;
  }

  /**
   * Takes upgrades, listens on --host/--port, and starts the descriptor guard and the
   * heartbeats. Rejects with ListenError when the port cannot be listened on.
   */
  async listen(): Promise<void> {
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
    await new Promise<void>((resolve, reject) => {
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
    this.connectionGuard.start();
    this.liveness.start();
  }

  /**
   * Stops listening: no new connection (those open stay). The node calls it last in its stop:
   * until then HTTP answers (/readyz 503 `stopping`) and upgrades are refused with 503.
   */
  closeListener(): void {
    this.http.close();
  }

  /** Stops the heartbeats and closes every session with 1001; resolves when they answered or after a bound. */
  async closeSessions(): Promise<void> {
    this.liveness.stop();
    const closed = [...this.sessions].map(
      (session) => new Promise<void>((resolve) => {
        session.ws.once('close', () => resolve());
        session.close(CLOSE_GOING_AWAY, 'server shutting down', SHUTDOWN_CLOSE_WAIT_MS);
      }),
    );
    await withTimeout(Promise.all(closed), SHUTDOWN_CLOSE_WAIT_MS + 500);
  }

  /** Ends every connection still open (the last step of a stop). */
  closeAllConnections(): void {
    this.http.closeAllConnections();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.core.readiness() === 'stopping') {
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
    const address = remoteAddress(request);
    const service = this.core.service;
    if (service === undefined) {
      this.wss.handleUpgrade(request, socket, head, (ws) => this.connect(ws, admission, address));
      return;
    }
    // The service-wide limits: the primary holds the counts (a bounded wait, src/cluster/).
    void service.reserve(address).then((refusal) => {
      if (refusal !== null) {
        this.refusals.refuse(socket, refusal);
        return;
      }
      if (socket.destroyed || this.core.readiness() === 'stopping') {
        service.release(address);
        if (!socket.destroyed) this.refusals.refuse(socket, { status: 503, reason: 'shutting_down', message: 'server is shutting down' });
        return;
      }
      // Held while the socket lives, whether the handshake completes or ws refuses it.
      socket.once('close', () => service.release(address));
      this.wss.handleUpgrade(request, socket, head, (ws) => this.connect(ws, admission, address));
    });
  }

  private connect(ws: WebSocket, admission: Admission, address: string): void {
    this.access.connected(address);
    const id = this.nextClientId++;
    const { hub, maps } = this.core;
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
            epoch: this.core.epoch(),
            tile_seq: maps.tileSeq,
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
    // A map or a resume first (docs/protocol.md section 9): hello when the plan is known, then the
    // tiles, then the snapshot and live updates (map-delivery.ts).
    const withMap = hello !== null && (tiles.tiles === 'map' || tiles.resume !== null);
    const client = withMap
      ? hub.register(id, format, transport, fanoutSubscription, limit)
      : hub.join(id, format, transport, fanoutSubscription, hello === null ? undefined : encodeFrame(hello, mode.encoding), limit);
    const session = new Session(id, ws, client, role, mode.encoding, this.sessionContext, hello);
    this.sessions.add(session);
    this.sessionOf.set(client, session);
    if (withMap) void maps.deliver(client, tiles, () => ({ epoch: this.core.epoch() }));
    ws.on('message', (data: Buffer, isBinary: boolean) => session.handle(data, isBinary));
    ws.on('pong', () => session.heard());
    ws.on('ping', () => session.heard());
    ws.on('error', () => undefined); // e.g. a frame over the size limit: ws closes with 1009 itself
    ws.on('close', () => {
      hub.leave(client);
      this.sessions.delete(session);
      this.access.disconnected(address);
    });
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
export function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
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
