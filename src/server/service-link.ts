// What a node's network edge asks of the service it is one process of (`--workers N`,
// src/cluster/): a place for each new client under the service-wide limits, the service's
// /healthz figures and its whole /metrics. A node running alone has no link and decides all
// of this itself.
import type { Refusal } from './refusal.js';

/** One fanout process as /healthz shows it. */
export interface ProcessReport {
  /** 1..N: the process's place in the service; a restarted process takes the same slot. */
  slot: number;
  /** Its process id; null while the slot waits for a restart. */
  pid: number | null;
  /** `starting`, `ready`, `stopping`, or `restarting` (exited; a new one is on its way). */
  state: 'starting' | 'ready' | 'stopping' | 'restarting';
  /** Clients it holds (those admitted and not yet gone). */
  clients: number;
  /** Seconds since this process started; null while restarting. */
  uptime_s: number | null;
}

/** The service's figures, from the primary process (src/cluster/primary.ts). */
export interface ServiceReport {
  /** Fanout processes configured (--workers). */
  workers: number;
  /** Clients over every process. */
  clients: number;
  /** Fanout processes restarted since start. */
  restarts: number;
  /** The last exit of a fanout process, one line with its time; null: none. */
  lastExit: string | null;
  processes: ProcessReport[];
}

/** The edge's side of the link to the rest of the service (src/cluster/fanout-link.ts). */
export interface ServiceLink {
  /**
   * A place for one more client from `address` (the socket's remote address) under the
   * service-wide --max-clients and --max-connections-per-ip: null when granted (the caller
   * then owes one `release(address)`), else the refusal to answer with. Resolves within a
   * bound and never rejects: a primary that does not answer in time is a refusal (503).
   */
  reserve(address: string): Promise<Refusal | null>;
  /** Gives back a place `reserve` granted. */
  release(address: string): void;
  /** The service's figures for /healthz, or a one-line reason why they are not known now. */
  service(): Promise<ServiceReport | string>;
  /** The whole service's /metrics (every process's, aggregated); rejects with a one-line reason. */
  metrics(): Promise<{ contentType: string; body: string }>;
}
