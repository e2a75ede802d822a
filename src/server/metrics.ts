// Prometheus metrics (GET /metrics). Nearly everything is read, when Prometheus scrapes, from
// the counters the service keeps anyway, so being measured costs the broadcast path nothing.
// Two exceptions, both bounded: the latency histogram gets one observation per frame and
// audience group as the frame is written (never per client), and the cursor lag needs the
// store's newest row ids, one cheap query in the worker pool at most once a second and only
// when scraped.
//
// With --workers N, the primary sums every process's registry (prom-client's
// AggregatorRegistry, src/cluster/metrics.ts); a series each process reads from the one
// store (cameras, rows read, the WAL, newest ids) says how it is combined instead
// (`aggregator`: max, min or first), so that the service's figure is the store's, not N times it.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Aggregator } from 'prom-client';
import type { Encoding, Role } from '../protocol/messages.js';
import type { HubCounters } from '../fanout/hub.js';
import type { ForgetReason } from '../fanout/camera-states.js';
import type { Cursor } from '../store/reader.js';
import type { TimeSummary } from '../store/worker-pool.js';
import type { ServiceCounters } from './counters.js';

/** Prefix of the process metrics prom-client collects by default (`wirecam_process_cpu_seconds_total`, …). */
const METRIC_PREFIX = 'wirecam_';

/** Buckets (ms) of wirecam_delivery_latency_ms, producer timestamp to socket write: local delivery is 1-10 ms. */
const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/** How often a scrape may query the store for its newest ids (ms); scrapes in between reuse them. */
const NEWEST_IDS_INTERVAL_MS = 1000;
/** How long a scrape waits for that query before answering with the previous values (ms). */
const NEWEST_IDS_WAIT_MS = 1000;

const ENCODINGS: readonly Encoding[] = ['json', 'msgpack'];
const ROLES: readonly Role[] = ['viewer', 'producer'];
const QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
] as const;

/** Where /metrics reads each series, when scraped (README, "Monitoring"). */
export interface MetricsSource {
  /** The `version` label of wirecam_info. */
  version: string;
  /** The service's counters (src/server/counters.ts). */
  counters: ServiceCounters;
  /** Messages and bytes sent, states coalesced, cameras known. */
  hub: { readonly counters: HubCounters; readonly cameraCount: number };
  /** Cameras forgotten since start, by reason (src/fanout/camera-states.ts). */
  camerasForgotten(): Readonly<Record<ForgetReason, number>>;
  /** Open sessions, counted by encoding and role into wirecam_clients. */
  sessions: Iterable<{ readonly role: Role; readonly encoding: Encoding }>;
  /** The store's worker pool: queue length, tasks done, task run and wait times (ms), and the newest row ids. */
  pool: {
    readonly queueSize: number;
    readonly completed: number;
    readonly taskTimes: { runTime: TimeSummary; waitTime: TimeSummary };
    newestIds(): Promise<Cursor>;
  };
  /** The store tail's cursor: the last row id read from each table. */
  cursor(): Cursor;
  /** Whether the store can be read now (wirecam_store_readable). */
  storeReadable(): boolean;
  /** Size of the store's -wal file in bytes (0: none); without it, reported as 0. */
  walBytes?(): number;
  /** Resets of the store's sequence space since start (src/store/sequence-reset.ts). */
  storeResets?(): number;
}

/**
 * The Prometheus registry of one node: every wirecam_* series (README, "Monitoring") and the
 * process defaults, read from `source` when scraped.
 */
export class ServiceMetrics {
  /** The registry every series is registered in (with --workers N, the primary aggregates each process's). */
  readonly registry = new Registry();
  private readonly latency: Histogram;
  private readonly newestIds: Sampled<Cursor>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    const { counters, hub } = source;
    this.newestIds = new Sampled(() => source.pool.newestIds(), NEWEST_IDS_INTERVAL_MS, NEWEST_IDS_WAIT_MS);
    const newestIds = this.newestIds;

    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });

    new Gauge({
      name: 'wirecam_info',
      help: 'Always 1; the version is a label',
      labelNames: ['version'],
      aggregator: 'first',
      registers,
    }).set({ version: source.version }, 1);

    new Gauge({
      name: 'wirecam_clients',
      help: 'Connected WebSocket clients, by encoding and role',
      labelNames: ['encoding', 'role'],
      registers,
      collect() {
        const count = new Map<string, number>();
        for (const { encoding, role } of source.sessions) count.set(`${encoding} ${role}`, (count.get(`${encoding} ${role}`) ?? 0) + 1);
        for (const encoding of ENCODINGS) for (const role of ROLES) this.set({ encoding, role }, count.get(`${encoding} ${role}`) ?? 0);
      },
    });
    gauge(registers, 'wirecam_cameras', 'Cameras with a known state (the snapshot a new client gets)', () => hub.cameraCount, 'max');
    counterByLabel(registers, 'wirecam_cameras_forgotten_total', 'Cameras whose state was forgotten: reason "cap" (the least recently updated, past --max-cameras) or "store" (its rows are gone from the store)', 'reason', () => source.camerasForgotten(), 'max');
    gauge(registers, 'wirecam_store_wal_bytes', "Size of the store's write-ahead log (-wal file) in bytes; kept under --wal-max-bytes unless a reader pins it", () => source.walBytes?.() ?? 0, 'max');
    counter(registers, 'wirecam_store_resets_total', "Resets of the store's sequence space (file replaced, sequence rolled back, newest rows removed), each detected and recovered from", () => source.storeResets?.() ?? 0, 'max');
    gauge(registers, 'wirecam_store_readable', '1 while the store can be read, 0 when it cannot (see /healthz)', () => (source.storeReadable() ? 1 : 0), 'min');

    counterByLabel(registers, 'wirecam_messages_sent_total', 'Camera and tile messages written to client sockets, by encoding', 'encoding', () => byEncoding(hub.counters.sent));
    counterByLabel(registers, 'wirecam_bytes_sent_total', 'Bytes of camera and tile messages written to client sockets (WebSocket framing included), by encoding', 'encoding', () => byEncoding(hub.counters.bytes));
    counterByLabel(registers, 'wirecam_updates_received_total', 'Valid updates read from the store, from every producer, by kind', 'kind', () => counters.updatesRead, 'max');
    counterByLabel(registers, 'wirecam_producer_updates_total', 'Updates sent by WebSocket producers: accepted (queued for the store) or refused (queue full, never acknowledged)', 'outcome', () => ({
      accepted: counters.updatesAccepted,
      refused: counters.updatesRefused,
    }));
    counter(registers, 'wirecam_updates_stored_total', 'Producer updates committed to the store (each acknowledged when its producer is still connected)', () => counters.updatesStored);
    counter(registers, 'wirecam_updates_coalesced_total', 'Camera states skipped because a newer one replaced them before they were written (conflation)', () => hub.counters.coalesced);
    counterByLabel(registers, 'wirecam_rows_rejected_total', 'Store rows skipped by validation, by reason', 'reason', () => counters.rowsRejected, 'max');
    counterByLabel(registers, 'wirecam_errors_sent_total', 'Error messages sent to clients (their message was refused), by code', 'code', () => counters.errorsSent);
    counter(registers, 'wirecam_slow_consumers_closed_total', 'Clients closed with 4000 for staying above the socket buffer limit past the grace period', () => counters.slowConsumersClosed);
    counter(registers, 'wirecam_idle_connections_terminated_total', 'Connections terminated after the idle timeout', () => counters.idleConnectionsTerminated);
    new Counter({
      name: 'wirecam_upgrades_refused_total',
      help: 'Upgrades and requests refused with an HTTP answer (wirecam admission, ws handshake checks, malformed or late requests, shutdown), by HTTP status and reason',
      labelNames: ['status', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [status, byReason] of Object.entries(counters.upgradesRefused)) {
          for (const [reason, count] of Object.entries(byReason)) this.inc({ status, reason }, count);
        }
      },
    });
    counter(registers, 'wirecam_connections_dropped_total', 'Connections closed unanswered because the process was at its descriptor budget (see /healthz)', () => counters.connectionsDropped);

    this.latency = new Histogram({
      name: 'wirecam_delivery_latency_ms',
      help: "Milliseconds from an update's producer timestamp to its write to the sockets of an audience group",
      buckets: LATENCY_BUCKETS_MS,
      registers,
    });

    gauge(registers, 'wirecam_worker_queue_size', 'Store tasks waiting for a free worker', () => source.pool.queueSize);
    counter(registers, 'wirecam_worker_tasks_completed_total', 'Store tasks finished by the worker pool', () => source.pool.completed);
    const times = (name: string, help: string, pick: (times: MetricsSource['pool']['taskTimes']) => TimeSummary) =>
      new Gauge({
        name,
        help,
        labelNames: ['quantile'],
        aggregator: 'max',
        registers,
        collect() {
          const summary = pick(source.pool.taskTimes);
          for (const [quantile, key] of QUANTILES) this.set({ quantile }, summary[key]);
        },
      });
    times('wirecam_worker_task_run_ms', 'Run time of finished store tasks (snapshot, writes, retention) since start, by quantile', (t) => t.runTime);
    times('wirecam_worker_task_wait_ms', 'Time store tasks waited for a free worker since start, by quantile', (t) => t.waitTime);

    /** A per-table gauge computed from the store's newest ids (absent while the store fails). */
    const perTable = (name: string, help: string, value: (newest: Cursor) => Cursor) =>
      new Gauge({
        name,
        help,
        labelNames: ['table'],
        aggregator: 'max',
        registers,
        async collect() {
          const newest = await newestIds.get();
          this.reset();
          if (newest === null) return;
          const { camera, tile } = value(newest);
          this.set({ table: 'camera_updates' }, camera);
          this.set({ table: 'tile_updates' }, tile);
        },
      });
    perTable('wirecam_store_newest_id', 'Newest row id in each store table', (newest) => newest);
    perTable('wirecam_store_cursor_lag_rows', "Rows in the store not yet read by the service: newest row id minus the reader's cursor, by table", (newest) => {
      const cursor = source.cursor();
      return { camera: Math.max(0, newest.camera - cursor.camera), tile: Math.max(0, newest.tile - cursor.tile) };
    });
  }

  /** The hub's `observeLatency`: once per frame and audience group, not per client. */
  observeLatency(ms: number): void {
    // A producer clock slightly ahead of ours must not make the sum go backwards.
    this.latency.observe(ms > 0 ? ms : 0);
  }

  /**
   * GET /metrics: the Prometheus text exposition format and its Content-Type. Waits at most
   * about NEWEST_IDS_WAIT_MS (1 s) for the store's newest ids. Rejects when a collector throws
   * (handleHttp answers 500).
   */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** `aggregator`: how the primary combines the processes' values (default: their sum). */
function gauge(registers: Registry[], name: string, help: string, read: () => number, aggregator: Aggregator = 'sum'): void {
  new Gauge({
    name,
    help,
    aggregator,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A counter that mirrors one of the service's own counters when scraped. */
function counter(registers: Registry[], name: string, help: string, read: () => number, aggregator: Aggregator = 'sum'): void {
  new Counter({
    name,
    help,
    aggregator,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** Legacy JSON mode is JSON on the wire: its frames count under encoding="json". */
function byEncoding(counts: Readonly<Record<'json' | 'msgpack' | 'legacy', number>>): Record<'json' | 'msgpack', number> {
  return { json: counts.json + counts.legacy, msgpack: counts.msgpack };
}

function counterByLabel(registers: Registry[], name: string, help: string, label: string, read: () => Readonly<Record<string, number>>, aggregator: Aggregator = 'sum'): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    aggregator,
    registers,
    collect() {
      this.reset();
      for (const [value, count] of Object.entries(read())) this.inc({ [label]: value }, count);
    },
  });
}

/** A value fetched at most once per interval; callers wait a bounded time, then take the last one. */
class Sampled<T> {
  private value: T | null = null;
  private fetchedAt = -Infinity;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly waitMs: number,
  ) {}

  async get(): Promise<T | null> {
    if (this.pending === null && Date.now() - this.fetchedAt >= this.intervalMs) {
      this.fetchedAt = Date.now();
      this.pending = this.fetch().then(
        (value) => {
          this.value = value;
        },
        () => {
          // Unknown rather than stale: the series disappear until the store answers again.
          this.value = null;
        },
      );
      void this.pending.then(() => (this.pending = null));
    }
    if (this.pending !== null) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.waitMs)));
      await Promise.race([this.pending, timeout]);
      clearTimeout(timer);
    }
    return this.value;
  }
}
