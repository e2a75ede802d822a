// The primary process of `wirecam serve --workers N`: it checks the store, starts N fanout
// processes (Node's cluster module; they share the listening port, the primary hands out
// connections in turn), restarts one that dies (with backoff, logged), holds the
// service-wide client limits (ledger.ts), answers the service's /healthz figures and
// /metrics (metrics.ts) for whichever process was asked, and on SIGTERM or SIGINT stops every
// process gracefully (each stores and acknowledges what it accepted and closes its clients
// with 1001), then resolves. It serves no client itself and opens no store after its check.
import cluster, { type Worker } from 'node:cluster';
import type { ServeConfig } from '../config.js';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { openStore, resolveStorePath } from '../store/open.js';
import type { ProcessReport, ServiceReport } from '../server/service-link.js';
import { Backoff } from '../util/backoff.js';
import { describeError } from '../util/describe-error.js';
import { ClientLedger } from './ledger.js';
import { withServiceFlags } from '../node-flags.js';
import { ClusterMetrics } from './metrics.js';
import { isClusterMessage, type FromFanout, type FromPrimary } from './messages.js';
import { SLOT_VARIABLE } from './workers.js';

/** How long a stop waits for the fanout processes to finish (ms) before SIGKILL: their own stop takes at most about 13 s. */
export const FANOUT_STOP_WAIT_MS = 16_000;
/** A restarted process that stays up this long (ms) is healthy again: the next restart waits the shortest delay. */
const STABLE_MS = 30_000;
/** Restart delays: 500 ms, doubling up to 30 s; no jitter (one primary, nothing to spread). */
const RESTART_BACKOFF = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0 };

interface Slot {
  index: number;
  worker: Worker | null;
  state: ProcessReport['state'];
  startedAt: number;
  backoff: Backoff;
  restartTimer: NodeJS.Timeout | null;
  stableTimer: NodeJS.Timeout | null;
  /** Why this process could not start, as it reported it. */
  failure: { name: string; message: string } | null;
}

/**
 * A fanout process's start-up error as the CLI reports it: ConfigError (status 2) as itself,
 * any other (ListenError, StoreOpenError, …) as an Error with its message (status 1, the same
 * one line). The primary does not load the network edge's modules for a class name.
 */
function rebuildError(failure: { name: string; message: string }): Error {
  if (failure.name === 'ConfigError') return new ConfigError(failure.message);
  return Object.assign(new Error(failure.message), { name: failure.name });
}

/** The primary of a service of `count` fanout processes. `start()`, then `stop()` once. */
export class ClusterPrimary {
  private readonly slots: Slot[];
  private readonly ledger: ClientLedger;
  private readonly metrics: ClusterMetrics;
  private restarts = 0;
  private lastExit: string | null = null;
  private starting = true;
  private stopping = false;
  private startWaiters: { ready(): void; failed(error: Error): void } | null = null;
  private url = '';

  constructor(
    private readonly config: ServeConfig,
    private readonly log: Logger,
    private readonly count: number,
  ) {
    this.slots = Array.from({ length: count }, (_, i) => ({
      index: i + 1,
      worker: null,
      state: 'starting',
      startedAt: Date.now(),
      backoff: new Backoff(RESTART_BACKOFF),
      restartTimer: null,
      stableTimer: null,
      failure: null,
    }));
    this.ledger = new ClientLedger({ maxClients: config['max-clients'], maxPerAddress: config['max-connections-per-ip'] });
    this.metrics = new ClusterMetrics(
      () => this.slots.flatMap((slot) => (slot.worker === null ? [] : [slot.worker])),
      () => this.report().processes,
      () => this.restarts,
    );
  }

  /** `ws://host:port/` once started. */
  get serviceUrl(): string {
    return this.url;
  }

  /** Process ids of the fanout processes running now. */
  get pids(): number[] {
    return this.slots.flatMap((slot) => (slot.worker?.process.pid === undefined ? [] : [slot.worker.process.pid]));
  }

  /**
   * Checks the store (StoreOpenError, before anything starts), starts every fanout process
   * and resolves once all of them listen. Rejects with the first process's start-up error,
   * as its class (ConfigError, ListenError, or Error with its message), after stopping the
   * others.
   */
  async start(): Promise<void> {
    openStore(resolveStorePath(this.config.db)).close();
    // Fanout processes run with the service's V8 flags even when the primary was started without them.
    cluster.setupPrimary({ execArgv: withServiceFlags(process.execArgv) });
    const started = new Promise<void>((resolve, reject) => {
      let ready = 0;
      this.startWaiters = {
        ready: () => {
          if (++ready === this.count) resolve();
        },
        failed: reject,
      };
    });
    for (const slot of this.slots) this.fork(slot);
    try {
      await started;
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.starting = false;
    this.startWaiters = null;
  }

  /** The service's figures (/healthz of any process). */
  report(): ServiceReport {
    const now = Date.now();
    return {
      workers: this.count,
      clients: this.ledger.clients,
      restarts: this.restarts,
      lastExit: this.lastExit,
      processes: this.slots.map((slot) => ({
        slot: slot.index,
        pid: slot.worker?.process.pid ?? null,
        state: slot.state,
        clients: slot.worker === null ? 0 : this.ledger.clientsOf(slot.worker.id),
        uptime_s: slot.worker === null ? null : Math.round((now - slot.startedAt) / 1000),
      })),
    };
  }

  /**
   * Stops every fanout process gracefully (the stop message; SIGKILL after
   * FANOUT_STOP_WAIT_MS) and resolves when all have exited. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      if (slot.stableTimer !== null) clearTimeout(slot.stableTimer);
      slot.restartTimer = slot.stableTimer = null;
      const worker = slot.worker;
      if (worker === null) continue;
      slot.state = 'stopping';
      exits.push(
        new Promise<void>((resolve) => {
          if (worker.process.exitCode !== null || worker.process.signalCode !== null) {
            resolve();
            return;
          }
          const kill = setTimeout(() => {
            this.log.error({ slot: slot.index, pid: worker.process.pid, wait_ms: FANOUT_STOP_WAIT_MS }, 'fanout process did not stop in time; killed');
            worker.process.kill('SIGKILL');
          }, FANOUT_STOP_WAIT_MS);
          worker.process.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          this.send(worker, { t: 'wirecam:stop' });
        }),
      );
    }
    await Promise.all(exits);
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.failure = null;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    const worker = cluster.fork({ [SLOT_VARIABLE]: String(slot.index) });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (isClusterMessage<FromFanout>(message)) this.received(slot, worker, message);
    });
    worker.on('error', () => undefined); // a send to a process that just exited; its exit is handled below
    worker.process.once('exit', (code, signal) => this.exited(slot, worker, code, signal));
  }

  private received(slot: Slot, worker: Worker, message: FromFanout): void {
    switch (message.t) {
      case 'wirecam:ready':
        if (slot.worker !== worker) return;
        slot.state = this.stopping ? 'stopping' : 'ready';
        this.url ||= message.url;
        if (this.starting) {
          this.startWaiters?.ready();
        } else {
          this.log.info({ slot: slot.index, pid: worker.process.pid, restarts: this.restarts }, 'fanout process restarted and listening');
        }
        slot.stableTimer = setTimeout(() => slot.backoff.reset(), STABLE_MS);
        slot.stableTimer.unref();
        return;
      case 'wirecam:failed':
        slot.failure = { name: message.name, message: message.message };
        if (this.starting) this.startWaiters?.failed(rebuildError(slot.failure));
        else this.log.error({ slot: slot.index, pid: worker.process.pid, err: message.message }, 'fanout process could not start');
        return;
      case 'wirecam:reserve': {
        const refusal = this.stopping
          ? { status: 503, reason: 'shutting_down', message: 'server is shutting down' }
          : this.ledger.reserve(worker.id, message.address);
        this.send(worker, { t: 'wirecam:reserved', id: message.id, refusal });
        return;
      }
      case 'wirecam:release':
        this.ledger.release(worker.id, message.address);
        return;
      case 'wirecam:service':
        this.send(worker, { t: 'wirecam:service-report', id: message.id, report: this.report() });
        return;
      case 'wirecam:metrics':
        this.metrics.scrape().then(
          ({ contentType, body }) => this.send(worker, { t: 'wirecam:metrics-text', id: message.id, contentType, body }),
          (error: unknown) => this.send(worker, { t: 'wirecam:metrics-text', id: message.id, contentType: 'text/plain', body: '', error: `aggregating metrics failed: ${describeError(error)}` }),
        );
        return;
      case 'wirecam:metrics-json':
        this.metrics.collected(message.id, worker.id, message.metrics);
        return;
    }
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.ledger.drop(worker.id);
    if (slot.stableTimer !== null) clearTimeout(slot.stableTimer);
    slot.stableTimer = null;
    if (slot.worker !== worker) return;
    slot.worker = null;
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.stopping) {
      slot.state = 'stopping';
      if (code !== 0 && !this.starting) this.log.warn({ slot: slot.index, pid: worker.process.pid, code, signal }, `fanout process ${how} while stopping`);
      return;
    }
    if (this.starting) {
      this.startWaiters?.failed(slot.failure !== null ? rebuildError(slot.failure) : new Error(`fanout process ${slot.index} ${how} while starting`));
      return;
    }
    this.restarts++;
    this.lastExit = `fanout process ${slot.index} (pid ${worker.process.pid}) ${how} at ${new Date().toISOString()}`;
    const delay = slot.backoff.next();
    slot.state = 'restarting';
    this.log.warn({ slot: slot.index, pid: worker.process.pid, code, signal, restart_in_ms: delay, restarts: this.restarts }, `fanout process ${how}; restarting it`);
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  private send(worker: Worker, message: FromPrimary): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch {
      // The process is exiting; its exit is handled.
    }
  }
}
