// GET /healthz (docs/protocol.md section 8): 200 while the store can be read, 503 when it cannot
// (`degraded` with 200 while writes wait for another process's lock);
// GET /readyz: whether the service has started and is not stopping.
// With several nodes (Redis bus), a node that cannot reach Redis still serves its own
// clients: it reports `degraded`, with 200, so a load balancer keeps sending it clients.
import type { BusState } from '../bus/bus.js';
import type { ConnectionsState } from './descriptors.js';
import type { ProcessReport, ServiceReport } from './service-link.js';

/** `busy`: readable, but writes wait on another process's lock (producers are not acknowledged). */
export type StoreState = 'ok' | 'busy' | 'unavailable';

/** What happened to the store since start, for /healthz (kept by src/node.ts). */
export interface StoreEvents {
  /** Resets of the store's sequence space since start (src/store/sequence-reset.ts). */
  resets: number;
  /** The last store event (a reset, the folder replaced), one line with its time; null: none. */
  lastEvent: string | null;
  /** Whether commits wake the store reader (its folder is watched) or it polls. */
  watch: 'watched' | 'polling';
}

/** Where /healthz reads each figure, at the moment of the request. */
export interface HealthSource {
  /** When the service started (ms since the epoch). */
  startedAt: number;
  /** Open WebSocket sessions. */
  clients(): number;
  /** Cameras with a known state (the snapshot). */
  cameras(): number;
  /** When the newest state or tile was published (ms since the epoch; 0: never). */
  lastUpdateAt(): number;
  /** Whether the store can be read and written, and the error when not (one line). */
  store(): { state: StoreState; error: string | null };
  /** Store events (resets, watch); without it, not reported. */
  storeEvents?(): StoreEvents;
  /** The bus between nodes (src/bus/bus.ts); without it, not reported. */
  bus?(): { state: BusState; detail: string | null };
  /** Whether connections were recently closed unanswered at the descriptor limit (src/server/descriptors.ts). */
  connections?(): { state: ConnectionsState; detail: string | null };
}

/**
 * The JSON body of GET /healthz (docs/protocol.md section 8; README, "HTTP on the same port").
 * Optional fields appear only when their source reports them, `*_error` only with a cause.
 */
export interface HealthReport {
  /** `unavailable` (HTTP 503) when the store cannot be read; `degraded` (200) when it is busy, the bus is down or connections were dropped. */
  status: 'ok' | 'degraded' | 'unavailable';
  /** Seconds since start, rounded. */
  uptime_s: number;
  /** Open WebSocket sessions. */
  clients: number;
  /** Cameras with a known state. */
  cameras: number;
  /** Milliseconds since the newest state or tile was published; null: none yet. */
  last_update_age_ms: number | null;
  store: StoreState;
  /** Why the store is not `ok`, one line. */
  store_error?: string;
  /** `watched` or `polling` (see StoreEvents). */
  store_watch?: StoreEvents['watch'];
  /** Resets of the store's sequence space since start. */
  store_resets?: number;
  /** The last store event, one line. */
  store_event?: string;
  /** The bus between nodes (with --redis). */
  bus?: BusState;
  /** Why the bus is not `ok`, one line. */
  bus_error?: string;
  /** `limited` while connections are being dropped at the descriptor limit (src/server/descriptors.ts). */
  connections?: ConnectionsState;
  /** How many were dropped, why, and how long ago. */
  connections_error?: string;
  /** With --workers N: the process that answered, and its own clients (`clients` is the service's). */
  pid?: number;
  process_clients?: number;
  /** With --workers N: fanout processes configured, restarts since start, the last exit. */
  workers?: number;
  restarts?: number;
  last_exit?: string;
  /** `degraded` while a fanout process is down (restarting) or the primary does not answer. */
  fanout?: 'ok' | 'degraded';
  fanout_error?: string;
  processes?: ProcessReport[];
}

/**
 * A process's /healthz `body` with the service's figures (src/cluster/): `clients` becomes the
 * total over every process, each process is listed, and `fanout` is `degraded` (`status` too,
 * still with 200: the clients it has are served) while a process is restarting or when
 * `service` is a reason the figures are unknown (the primary did not answer).
 */
export function withService(body: HealthReport, service: ServiceReport | string): HealthReport {
  const out: HealthReport = { ...body, pid: process.pid, process_clients: body.clients };
  if (typeof service === 'string') {
    out.fanout = 'degraded';
    out.fanout_error = service;
  } else {
    out.clients = service.clients;
    out.workers = service.workers;
    out.restarts = service.restarts;
    if (service.lastExit !== null) out.last_exit = service.lastExit;
    const down = service.processes.filter((p) => p.state === 'restarting');
    out.fanout = down.length === 0 ? 'ok' : 'degraded';
    if (down.length > 0) out.fanout_error = `fanout process ${down.map((p) => p.slot).join(', ')} restarting${service.lastExit === null ? '' : `; ${service.lastExit}`}`;
    out.processes = service.processes;
  }
  if (out.fanout === 'degraded' && out.status === 'ok') out.status = 'degraded';
  return out;
}

/**
 * The /healthz answer at `now` (ms since the epoch): 503 only when the store cannot be read;
 * `degraded` with 200 when writes wait on a lock, the bus is down, or connections were
 * recently closed unanswered at the descriptor limit.
 */
export function healthReport(source: HealthSource, now: number): { httpStatus: number; body: HealthReport } {
  const store = source.store();
  const last = source.lastUpdateAt();
  const body: HealthReport = {
    status: store.state === 'ok' ? 'ok' : store.state === 'busy' ? 'degraded' : 'unavailable',
    uptime_s: Math.round((now - source.startedAt) / 1000),
    clients: source.clients(),
    cameras: source.cameras(),
    last_update_age_ms: last === 0 ? null : now - last,
    store: store.state,
  };
  if (store.error !== null) body.store_error = store.error;
  const events = source.storeEvents?.();
  if (events !== undefined) {
    body.store_watch = events.watch;
    body.store_resets = events.resets;
    if (events.lastEvent !== null) body.store_event = events.lastEvent;
  }
  const bus = source.bus?.();
  if (bus !== undefined) {
    body.bus = bus.state;
    if (bus.detail !== null) body.bus_error = bus.detail;
    if (bus.state !== 'ok' && body.status === 'ok') body.status = 'degraded';
  }
  const connections = source.connections?.();
  if (connections !== undefined) {
    body.connections = connections.state;
    if (connections.detail !== null) body.connections_error = connections.detail;
    // Still 200: the node serves the clients it has; a load balancer may send it others.
    if (connections.state !== 'ok' && body.status === 'ok') body.status = 'degraded';
  }
  return { httpStatus: store.state === 'unavailable' ? 503 : 200, body };
}

/** GET /readyz: ready once the store is open and the snapshot loaded, until shutdown begins. */
export type Readiness = 'starting' | 'ready' | 'stopping';

/** The GET /readyz answer: 200 `{"status":"ready"}`, else 503 with `starting` or `stopping`. */
export function readinessReport(state: Readiness): { httpStatus: number; body: { status: Readiness } } {
  return { httpStatus: state === 'ready' ? 200 : 503, body: { status: state } };
}
