// A fanout process's side of the IPC channel to its primary (`--workers N`): the
// ServiceLink its network edge uses (a place per client under the service-wide limits, the
// service's /healthz figures, the whole /metrics), and the answers it owes the primary (its
// registry, on request). Every request waits a bounded time; a primary that is slow or gone
// is an answer too: an upgrade is refused with 503 (the limits stay hard), /healthz shows
// `fanout: degraded` with the reason, /metrics fails with the reason.
import type { Registry } from 'prom-client';
import type { Refusal } from '../server/refusal.js';
import type { ServiceLink, ServiceReport } from '../server/service-link.js';
import { describeError } from '../util/describe-error.js';
import { isClusterMessage, type FromFanout, type FromPrimary } from './messages.js';

/** How long an upgrade waits for the primary's answer (ms); past it the upgrade is refused with 503. */
export const RESERVE_WAIT_MS = 2000;
/** How long /healthz waits for the service's figures (ms); past it, this process's own only. */
export const SERVICE_WAIT_MS = 1000;
/** How long /metrics waits for the aggregated scrape (ms); the primary waits less for each process. */
export const METRICS_WAIT_MS = 4000;

const PRIMARY_SLOW: Refusal = { status: 503, reason: 'service_busy', message: 'service busy, try again later' };

/** The IPC end of a cluster worker (`process` in one): send, and messages from the primary. */
export interface Channel {
  send(message: FromFanout, callback?: () => void): unknown;
  readonly connected: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

interface Pending {
  resolve(message: FromPrimary): void;
  timer: NodeJS.Timeout;
}

/** One fanout process's link to its primary. `start()` installs the message listener. */
export class FanoutLink implements ServiceLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private registry: Registry | null = null;
  private stopHandler: () => void = () => undefined;

  constructor(private readonly channel: Channel) {
    channel.on('message', (message) => {
      if (isClusterMessage<FromPrimary>(message)) this.received(message);
    });
  }

  /** The registry whose metrics the primary aggregates (this process's node's). */
  serveMetrics(registry: Registry): void {
    this.registry = registry;
  }

  /** What to do when the primary asks this process to stop. */
  onStop(handler: () => void): void {
    this.stopHandler = handler;
  }

  /** Tells the primary this process listens at `url`. */
  ready(url: string): void {
    this.send({ t: 'wirecam:ready', url });
  }

  /**
   * Tells the primary this process could not start, with the error's class name and message;
   * resolves once the message is handed to the channel (or at once without one).
   */
  failed(error: unknown): Promise<void> {
    const message: FromFanout = { t: 'wirecam:failed', name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : describeError(error) };
    return new Promise((resolve) => {
      if (!this.channel.connected) return resolve();
      try {
        this.channel.send(message, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  /**
   * Asks the primary for a place for a client from `address` (service-wide --max-clients and
   * --max-connections-per-ip): null when granted (a `release` is then owed), else the refusal.
   * Resolves within RESERVE_WAIT_MS; past it, a 503 `service_busy` refusal, and a grant that
   * still comes is given back at once.
   */
  async reserve(address: string): Promise<Refusal | null> {
    const id = this.nextId++;
    const answer = await this.request({ t: 'wirecam:reserve', id, address }, RESERVE_WAIT_MS);
    if (answer === null) {
      // Too late for this upgrade; a grant that still comes is given back when it does.
      this.pending.set(id, {
        resolve: (late) => {
          if (late.t === 'wirecam:reserved' && late.refusal === null) this.release(address);
        },
        timer: setTimeout(() => this.pending.delete(id), 60_000).unref(),
      });
      return PRIMARY_SLOW;
    }
    return answer.t === 'wirecam:reserved' ? answer.refusal : PRIMARY_SLOW;
  }

  /** Gives back a place `reserve` granted (the client from `address` is gone). */
  release(address: string): void {
    this.send({ t: 'wirecam:release', address });
  }

  /**
   * The service-wide figures for /healthz (totals and each process), or, when the primary does
   * not answer within SERVICE_WAIT_MS, the reason as a string.
   */
  async service(): Promise<ServiceReport | string> {
    const answer = await this.request({ t: 'wirecam:service', id: this.nextId++ }, SERVICE_WAIT_MS);
    if (answer === null) return `the primary process did not answer within ${SERVICE_WAIT_MS} ms`;
    return answer.t === 'wirecam:service-report' ? answer.report : 'unexpected answer from the primary process';
  }

  /**
   * The whole service's /metrics text (every process's registry aggregated by the primary).
   * Throws when the primary does not answer within METRICS_WAIT_MS or reports an error.
   */
  async metrics(): Promise<{ contentType: string; body: string }> {
    const answer = await this.request({ t: 'wirecam:metrics', id: this.nextId++ }, METRICS_WAIT_MS);
    if (answer === null) throw new Error(`the primary process did not answer within ${METRICS_WAIT_MS} ms`);
    if (answer.t !== 'wirecam:metrics-text') throw new Error('unexpected answer from the primary process');
    if (answer.error !== undefined) throw new Error(answer.error);
    return { contentType: answer.contentType, body: answer.body };
  }

  /** Sends `message` and resolves with the answer of the same id, or null after `waitMs`. */
  private request(message: FromFanout & { id: number }, waitMs: number): Promise<FromPrimary | null> {
    return new Promise((resolve) => {
      if (!this.channel.connected) {
        resolve(null);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(message.id);
        resolve(null);
      }, waitMs);
      this.pending.set(message.id, { resolve, timer });
      this.send(message);
    });
  }

  private received(message: FromPrimary): void {
    switch (message.t) {
      case 'wirecam:stop':
        this.stopHandler();
        return;
      case 'wirecam:collect': {
        const registry = this.registry;
        if (registry === null) return;
        registry.getMetricsAsJSON().then(
          (metrics) => this.send({ t: 'wirecam:metrics-json', id: message.id, metrics: metrics as never }),
          () => this.send({ t: 'wirecam:metrics-json', id: message.id, metrics: [] }),
        );
        return;
      }
      default: {
        const pending = this.pending.get(message.id);
        if (pending === undefined) return;
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        pending.resolve(message);
      }
    }
  }

  private send(message: FromFanout): void {
    if (!this.channel.connected) return;
    try {
      this.channel.send(message);
    } catch {
      // The channel closed meanwhile: the process is on its way out.
    }
  }
}
