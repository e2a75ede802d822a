// What the service counts, in one place: /healthz, /metrics and the tests read these.
import { ERROR_CODES, type ErrorCode } from '../protocol/messages.js';
import { REJECT_REASONS, type RejectReason } from '../protocol/validate.js';
import type { FrameKind, ReadyFrame } from '../protocol/ready-frame.js';

/**
 * The service's own counters since start (all counts, no units but the ones named), mutated
 * in place by whoever counts; /metrics mirrors them when scraped (src/server/metrics.ts).
 */
export interface ServiceCounters {
  /** Valid updates read from the store (every source ends up there), by kind. */
  updatesRead: Record<FrameKind, number>;
  /** Producer updates that passed validation and were queued for the store. */
  updatesAccepted: number;
  /** Producer updates committed to the store (acknowledged when the producer is still connected). */
  updatesStored: number;
  /** Producer updates refused because the store queue was full (never acknowledged). */
  updatesRefused: number;
  /** Store rows skipped by validation, by reason. */
  rowsRejected: Record<RejectReason, number>;
  /** `error` messages sent, by code. */
  errorsSent: Record<ErrorCode, number>;
  /** Clients closed with 4000 (docs/protocol.md section 7). */
  slowConsumersClosed: number;
  /** Connections terminated after --idle-timeout-ms of silence. */
  idleConnectionsTerminated: number;
  /**
   * Requests and upgrades refused with an HTTP answer (src/server/refusal.ts), by HTTP status,
   * then reason label. Both come from fixed sets in the code, so the map stays small.
   */
  upgradesRefused: Record<string, Record<string, number>>;
  /** Connections closed unanswered because the process was at its descriptor budget. */
  connectionsDropped: number;
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/** Every counter at zero, with a key for each reject reason and error code already present. */
export function createCounters(): ServiceCounters {
  return {
    updatesRead: { camera: 0, tile: 0 },
    updatesAccepted: 0,
    updatesStored: 0,
    updatesRefused: 0,
    rowsRejected: zeroes(REJECT_REASONS),
    errorsSent: zeroes(ERROR_CODES),
    slowConsumersClosed: 0,
    idleConnectionsTerminated: 0,
    upgradesRefused: {},
    connectionsDropped: 0,
  };
}

/** Once per batch the store tail hands over, not per client. */
export function countRead(counters: ServiceCounters, frames: readonly ReadyFrame[]): void {
  for (let i = 0; i < frames.length; i++) counters.updatesRead[frames[i]!.kind]++;
}

/** One refusal (src/server/refusal.ts) with its HTTP status and reason label. */
export function countRefusal(counters: ServiceCounters, status: number, reason: string): void {
  const byReason = (counters.upgradesRefused[status] ??= {});
  byReason[reason] = (byReason[reason] ?? 0) + 1;
}
