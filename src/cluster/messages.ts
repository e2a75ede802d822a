// The messages between the primary process and its fanout processes (`--workers N`), over
// Node's cluster IPC channel (JSON). Each kind is named `wirecam:*`, so other users of the
// channel (none today) cannot be mistaken for them. Nothing here is on the broadcast path:
// a message per upgrade, per client gone, per /healthz or /metrics request, and per start,
// stop and failure.
import type { Refusal } from '../server/refusal.js';
import type { ServiceReport } from '../server/service-link.js';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** One process's registry as prom-client's `getMetricsAsJSON()` gives it. */
export type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>;

/** From a fanout process to the primary. `id`: the request's number, echoed in the answer. */
export type FromFanout =
  /** Listening at `url`: the process takes clients. */
  | { t: 'wirecam:ready'; url: string }
  /** Could not start: the error's class name (ConfigError, StoreOpenError, ListenError, …) and message. */
  | { t: 'wirecam:failed'; name: string; message: string }
  /** A place for a new client from `address` under the service-wide limits. */
  | { t: 'wirecam:reserve'; id: number; address: string }
  /** A client from `address` is gone (or its reserved place was not used). */
  | { t: 'wirecam:release'; address: string }
  /** The service's figures for /healthz. */
  | { t: 'wirecam:service'; id: number }
  /** The whole service's /metrics. */
  | { t: 'wirecam:metrics'; id: number }
  /** This process's registry, answering a `wirecam:collect`. */
  | { t: 'wirecam:metrics-json'; id: number; metrics: MetricsJson };

/** From the primary to a fanout process. */
export type FromPrimary =
  /** The answer to `wirecam:reserve`: null when granted, else the refusal to answer with. */
  | { t: 'wirecam:reserved'; id: number; refusal: Refusal | null }
  | { t: 'wirecam:service-report'; id: number; report: ServiceReport }
  /** The answer to `wirecam:metrics`: the aggregated text, or `error`, one line. */
  | { t: 'wirecam:metrics-text'; id: number; contentType: string; body: string; error?: string }
  /** Send this process's registry (`wirecam:metrics-json`). */
  | { t: 'wirecam:collect'; id: number }
  /** Stop gracefully (as SIGTERM would): the primary is stopping the service. */
  | { t: 'wirecam:stop' };

/** Whether `message` is one of ours (a `t` that starts with `wirecam:`); its shape is trusted past that. */
export function isClusterMessage<T extends { t: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { t?: unknown }).t === 'string' && (message as { t: string }).t.startsWith('wirecam:');
}
