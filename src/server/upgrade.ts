// Admission of a WebSocket upgrade: path, capacity, subprotocol, subscription and role are
// decided here, before the handshake, so a refusal is a plain HTTP answer with a reason
// (answered, counted and ended by refusal.ts).
import { requestUrl } from './request-url.js';
import type { IncomingMessage } from 'node:http';
import {
  chooseSubprotocol,
  parseSubscriptionQuery,
  parseTileQuery,
  type SessionMode,
  type SubscriptionRequest,
  type TileRequest,
} from '../protocol/negotiate.js';
import type { Role } from '../protocol/messages.js';
import { presentedToken } from './auth.js';
import type { AccessPolicy } from './access.js';
import type { Refusal } from './refusal.js';

/** What an admitted upgrade asked for and may do. */
export interface Admission {
  /** The subprotocol chosen (null: legacy JSON mode) and its encoding (docs/protocol.md section 2). */
  mode: SessionMode;
  /** Cameras and `max_hz` (clamped) from the query string (docs/protocol.md section 3). */
  subscription: SubscriptionRequest;
  /** The map and resume asked for (docs/protocol.md section 9); legacy JSON mode gets live tiles only. */
  tiles: TileRequest;
  /** `producer` with a producer token, else `viewer`. */
  role: Role;
}

/**
 * Admitted, or refused with an HTTP status, a reason label for /metrics (`not_found`,
 * `origin`, `capacity`, `address_limit`, `subprotocol`, `subscription`, `token_unknown`,
 * `token_required`) and a one-line message.
 */
export type AdmissionResult = { ok: true; value: Admission } | ({ ok: false } & Refusal);

/** The server's side of admission. */
export interface AdmissionPolicy {
  /** --max-hz: default and ceiling of `max_hz`. */
  maxHz: number;
  /** Tokens, origins and per-address counts. */
  access: AccessPolicy;
  /** True at --max-clients open sessions (refused with 503). */
  atCapacity(): boolean;
}

/** The client's address as seen on the socket (a reverse proxy's own, behind one). */
export function remoteAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

/**
 * Decides an upgrade request before the handshake, in this order: path (404), origin
 * (403, `--allowed-origin`), total clients (503, `--max-clients`), the address's open
 * connections (429, `--max-connections-per-ip`), subprotocol (400, docs/protocol.md section 2),
 * subscription query (400), token (401). Never throws.
 */
export function admit(request: IncomingMessage, policy: AdmissionPolicy): AdmissionResult {
  const url = requestUrl(request);
  if (url.pathname !== '/') return { ok: false, status: 404, reason: 'not_found', message: 'WebSocket endpoint is /' };
  const { access } = policy;
  if (!access.originAllowed(request.headers.origin)) return { ok: false, status: 403, reason: 'origin', message: 'origin not allowed' };
  if (policy.atCapacity()) return { ok: false, status: 503, reason: 'capacity', message: 'client limit reached, try again later' };
  if (access.addressAtLimit(remoteAddress(request))) return { ok: false, status: 429, reason: 'address_limit', message: 'too many connections from this address' };
  const mode = chooseSubprotocol(request.headers['sec-websocket-protocol']);
  if (!mode.ok) return { ok: false, status: 400, reason: 'subprotocol', message: mode.reason };
  const subscription = parseSubscriptionQuery(url.searchParams, policy.maxHz);
  if (!subscription.ok) return { ok: false, status: 400, reason: 'subscription', message: subscription.reason };
  const tiles = parseTileQuery(url.searchParams);
  if (!tiles.ok) return { ok: false, status: 400, reason: 'tiles', message: tiles.reason };
  // Legacy JSON mode has no hello to carry an epoch: only live tiles apply there.
  const tileRequest: TileRequest = mode.value.subprotocol === null ? { tiles: 'live', resume: null } : tiles.value;
  const token = presentedToken(request, url.searchParams);
  let role: Role = 'viewer';
  if (token !== null) {
    // Both sets are always checked, so timing does not tell which kind of token this was.
    const producer = access.producerTokens.matches(token);
    const viewer = access.viewerTokens?.matches(token) ?? false;
    if (producer) role = 'producer';
    else if (!viewer) return { ok: false, status: 401, reason: 'token_unknown', message: 'unknown token' };
  } else if (access.viewerTokens !== null) {
    return { ok: false, status: 401, reason: 'token_required', message: 'a token is required' };
  }
  return { ok: true, value: { mode: mode.value, subscription: subscription.value, tiles: tileRequest, role } };
}
