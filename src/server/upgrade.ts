// Admission of a WebSocket upgrade: path, capacity, subprotocol, subscription and role are
// decided here, before the handshake, so a refusal is a plain HTTP answer with a reason.
import { requestUrl } from './request-url.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
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

export interface Admission {
  mode: SessionMode;
  subscription: SubscriptionRequest;
  /** The map and resume asked for (PROTOCOL.md section 9); legacy JSON mode gets live tiles only. */
  tiles: TileRequest;
  role: Role;
}

export type AdmissionResult = { ok: true; value: Admission } | { ok: false; status: number; message: string };

export interface AdmissionPolicy {
  maxHz: number;
  access: AccessPolicy;
  atCapacity(): boolean;
}

/** The client's address as seen on the socket (a reverse proxy's own, behind one). */
export function remoteAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

export function admit(request: IncomingMessage, policy: AdmissionPolicy): AdmissionResult {
  const url = requestUrl(request);
  if (url.pathname !== '/') return { ok: false, status: 404, message: 'WebSocket endpoint is /' };
  const { access } = policy;
  if (!access.originAllowed(request.headers.origin)) return { ok: false, status: 403, message: 'origin not allowed' };
  if (policy.atCapacity()) return { ok: false, status: 503, message: 'client limit reached, try again later' };
  if (access.addressAtLimit(remoteAddress(request))) return { ok: false, status: 429, message: 'too many connections from this address' };
  const mode = chooseSubprotocol(request.headers['sec-websocket-protocol']);
  if (!mode.ok) return { ok: false, status: 400, message: mode.reason };
  const subscription = parseSubscriptionQuery(url.searchParams, policy.maxHz);
  if (!subscription.ok) return { ok: false, status: 400, message: subscription.reason };
  const tiles = parseTileQuery(url.searchParams);
  if (!tiles.ok) return { ok: false, status: 400, message: tiles.reason };
  // Legacy JSON mode has no hello to carry an epoch: only live tiles apply there.
  const tileRequest: TileRequest = mode.value.subprotocol === null ? { tiles: 'live', resume: null } : tiles.value;
  const token = presentedToken(request, url.searchParams);
  let role: Role = 'viewer';
  if (token !== null) {
    // Both sets are always checked, so timing does not tell which kind of token this was.
    const producer = access.producerTokens.matches(token);
    const viewer = access.viewerTokens?.matches(token) ?? false;
    if (producer) role = 'producer';
    else if (!viewer) return { ok: false, status: 401, message: 'unknown token' };
  } else if (access.viewerTokens !== null) {
    return { ok: false, status: 401, message: 'a token is required' };
  }
  return { ok: true, value: { mode: mode.value, subscription: subscription.value, tiles: tileRequest, role } };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** Answers a refused upgrade on the raw socket and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}
