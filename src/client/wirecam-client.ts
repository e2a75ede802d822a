// A wirecam client that keeps itself connected: it negotiates an encoding, reconnects with
// backoff after any loss, asks again for its cameras (and so gets their snapshot), and hands
// the application only updates newer than the ones it already has. No Node-only imports:
// the same file runs in browsers (the viewer page) and in Node.
import type { CameraUpdate, Encoding, ErrorMessage, Heartbeat, Hello, ServerMessage, TileUpdate } from '../protocol/messages.js';
import { Backoff, type BackoffOptions } from '../util/backoff.js';
import { decodeFrame, msgpackrCodec, type MsgpackCodec, type MsgpackrLike } from './codec.js';
import { TypedEvents } from './events.js';
import { SeqFilter } from './freshness.js';

/** The subprotocol of each encoding (docs/protocol.md section 2). */
export const SUBPROTOCOLS: Record<Encoding, string> = { json: 'wirecam.v1.json', msgpack: 'wirecam.v1.msgpack' };

/** What the client needs of a WebSocket: the browser's, Node's global one, or `ws`. */
export interface WebSocketLike {
  readonly protocol: string;
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /**
   * Set, before the close event, by implementations that can see the HTTP answer to a
   * refused upgrade (the Node build of the client, over `ws`'s 'unexpected-response').
   * Browsers show a script only the close (1006): there a refusal looks like any failure.
   */
  readonly refusal?: HttpRefusal | null;
}

/**
 * The server answered the WebSocket upgrade with an HTTP status other than 101 (RFC 6455
 * section 4.1): it refused the connection (docs/protocol.md section 3: 400 a bad query, 401 a
 * token, 403 an origin, 404 a path, 429 the address's limit, 503 capacity or shutdown).
 */
export interface HttpRefusal {
  /** The HTTP status code (RFC 9110 section 15). */
  status: number;
  /** The first line of the response body (wirecam's refusals are one line), at most 200 characters; '' when none. */
  message: string;
}

/**
 * Whether a refusal may go away by itself, so that trying again makes sense: every 5xx, 408
 * (Request Timeout) and 429 (Too Many Requests, RFC 6585 section 4). Any other 4xx says the
 * request itself is wrong (a token, a path, a query, an origin): the same request is refused
 * again, however often it is made.
 */
export function isTransientRefusal(refusal: HttpRefusal): boolean {
  return refusal.status >= 500 || refusal.status === 408 || refusal.status === 429;
}

/** A WebSocket class: `new (url, protocols)`, as the browser's, Node 22+'s and `ws`'s. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * `connecting`: a socket is opening; `open`: connected; `reconnecting`: waiting before the next
 * attempt; `closed`: not connected and not trying (before connect(), after close(), or after a
 * loss with `reconnect: false`).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Settings of a WirecamClient; only `url` is required. */
export interface WirecamClientOptions {
  /** The server's WebSocket address, e.g. ws://127.0.0.1:8765/ */
  url: string;
  /**
   * Other nodes of the same deployment (`wirecam serve --redis`): after each lost or failed
   * connection the next address is tried, in turn, `url` first. They all serve the same states.
   */
  fallbackUrls?: readonly string[];
  /** Camera ids, or ['*'] for every camera. Default ['main']. */
  cameras?: readonly string[];
  /** Most updates per second per camera wanted (the server clamps it). Default: the server's maximum. */
  maxHz?: number;
  /** Preferred encoding; the other one is offered as a fallback. Default msgpack when a codec is available. */
  encoding?: Encoding;
  /** A credential for the `token` query parameter. */
  token?: string;
  /** WebSocket implementation. Default: globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** MessagePack codec. Default: one built on globalThis.msgpackr (msgpackr's browser build), if loaded. */
  msgpack?: MsgpackCodec | null;
  /** Reconnection delays, or false to stay closed after the first loss. */
  reconnect?: BackoffOptions | false;
  /**
   * Whether to try again after the server refused the upgrade (a `refused` event). Default
   * isTransientRefusal: yes after 5xx, 408 and 429, no after any other 4xx (the client then
   * stays closed). Only where the WebSocket shows the refusal (Node), never in browsers.
   */
  retryRefusal?: (refusal: HttpRefusal) => boolean;
  /** Source of randomness for the backoff jitter (tests make it predictable). */
  random?: () => number;
  /**
   * Tiles wanted (docs/protocol.md section 9): 'live' (default), 'map' (the latest tile of every
   * coordinate first, on a connection that cannot resume), or 'none'. Unless 'none', every
   * reconnection resumes from the last tile received (epoch and tiles_since); the `map`
   * event says whether that worked.
   */
  tiles?: 'live' | 'map' | 'none';
}

/** After each hello: whether the tiles the client holds are still good. */
export interface MapStatus {
  /**
   * True: the tiles missed while away follow (or none were missed): keep the map. False:
   * the map must be rebuilt from what follows (the whole map with `tiles: 'map'`).
   */
  recovered: boolean;
  /** A resume was asked for (false on a first connection). */
  resumed: boolean;
  /** The server's tile sequence space (docs/protocol.md section 9.1). */
  epoch: string;
  /** The newest tile seq at the handshake. */
  tileSeq: number;
}

/** Payload of the `state` event. */
export interface StateChange {
  state: ConnectionState;
  /** Failed attempts since the last successful connection. */
  attempt: number;
  /** For `reconnecting`: how long until the next attempt. */
  delayMs?: number;
}

/**
 * Payload of the `disconnect` event: the WebSocket close `code` and `reason` (RFC 6455 section
 * 7.4; 1006 when the connection failed or dropped without a Close frame, docs/protocol.md section 7).
 */
export interface Disconnect {
  code: number;
  /** The Close frame's reason; for a refused upgrade, `HTTP <status> <message>`. */
  reason: string;
  /** True when a reconnection is scheduled. */
  willReconnect: boolean;
  /** Set when the server refused the upgrade with an HTTP status (see WebSocketLike.refusal). */
  refusal?: HttpRefusal;
}

/** Payload of the `refused` event: the server's HTTP answer, where it was asked, and what follows. */
export interface Refused extends HttpRefusal {
  /** The address that refused (without its query, which may hold a token). */
  url: string;
  /** True when a reconnection follows (see WirecamClientOptions.retryRefusal). */
  willReconnect: boolean;
}

/** Payload of the `stale` event. */
export interface StaleUpdate {
  message: CameraUpdate | TileUpdate;
  /** The newest seq the client had for the same camera (or for tiles). */
  newestSeq: number;
}

/** The events of WirecamClient and their payloads (subscribe with `client.on(name, listener)`). */
export interface WirecamClientEvents {
  state: StateChange;
  /** The connection is open; `encoding` is the one the server chose. */
  open: { encoding: Encoding; legacy: boolean };
  hello: Hello;
  /** After each hello from a protocol 1.1 server: keep the map (recovered) or rebuild it. */
  map: MapStatus;
  /** A camera state newer than any seen before for its camera. */
  camera: CameraUpdate;
  /** A tile newer than any seen before (tiles are never conflated: each one arrives). */
  tile: TileUpdate;
  /** An update discarded because the client already had a newer (or the same) one. */
  stale: StaleUpdate;
  heartbeat: Heartbeat;
  /** An `error` message from the server. */
  'server-error': ErrorMessage;
  /** A frame that could not be decoded. */
  'decode-error': Error;
  /** The server refused the upgrade with an HTTP status (Node only); a `disconnect` follows. */
  refused: Refused;
  disconnect: Disconnect;
  /** Every decoded message, fresh or not, before any other event. */
  message: ServerMessage;
}

/** The key under which tile seqs are tracked (tiles belong to the map, not to a camera). */
const TILES = '\u0000tiles';

function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

function globalMsgpack(): MsgpackCodec | null {
  const lib = (globalThis as { msgpackr?: Partial<MsgpackrLike> }).msgpackr;
  return lib?.Packr && lib.Unpackr ? msgpackrCodec(lib as MsgpackrLike) : null;
}

/**
 * A client that stays connected to a wirecam server (docs/protocol.md): it offers both subprotocols,
 * its preferred encoding first; reconnects with Backoff after any loss, trying `fallbackUrls` in
 * turn; asks again for its cameras (and so gets their snapshot) and resumes tiles from the last
 * seq held (docs/protocol.md section 9); and emits only updates newer than those it has (per-camera
 * seq, SeqFilter). Answers every heartbeat. The constructor throws Error when no WebSocket
 * implementation is given or global, or when `encoding: 'msgpack'` is asked for without a codec.
 */
export class WirecamClient extends TypedEvents<WirecamClientEvents> {
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly msgpack: MsgpackCodec | null;
  private readonly preferred: Encoding;
  private readonly backoff: Backoff | null;
  private readonly freshness = new SeqFilter();
  private readonly newest = new Map<string, CameraUpdate>();
  private socket: WebSocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private cameraList: string[];
  private rate: number | undefined;
  private currentState: ConnectionState = 'closed';
  private negotiated: Encoding | null = null;
  private lastHello: Hello | null = null;
  private connections = 0;
  private readonly addresses: readonly string[];
  private addressIndex = 0;
  /** Where the next connection resumes: the epoch and the tile seq held up to, or null. */
  private resumePoint: { epoch: string; seq: number } | null = null;
  /** The map or missed tiles of this connection are still arriving, up to this seq. */
  private tilesPendingUpTo: number | null = null;
  private askedForTiles = false;
  /** The pending tiles are every tile after the resume point (a recovered resume), not a map with gaps. */
  private pendingContiguous = false;

  constructor(private readonly options: WirecamClientOptions) {
    super();
    const impl = options.WebSocket ?? globalWebSocket();
    if (impl === undefined) throw new Error('no WebSocket implementation: pass options.WebSocket (e.g. the ws package)');
    this.WebSocketImpl = impl;
    this.msgpack = options.msgpack === undefined ? globalMsgpack() : options.msgpack;
    this.preferred = options.encoding ?? (this.msgpack !== null ? 'msgpack' : 'json');
    if (this.preferred === 'msgpack' && this.msgpack === null) {
      throw new Error('msgpack encoding needs a MessagePack codec: pass options.msgpack, or load msgpackr first');
    }
    this.backoff = options.reconnect === false ? null : new Backoff(options.reconnect ?? {}, options.random);
    this.cameraList = [...(options.cameras ?? ['main'])];
    this.addresses = [options.url, ...(options.fallbackUrls ?? [])];
    this.rate = options.maxHz;
  }

  /** The connection's state now (see ConnectionState). */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The encoding of the open connection (null while not connected). */
  get encoding(): Encoding | null {
    return this.negotiated;
  }

  /**
   * The last `hello` received (kept after a disconnect); null before the first, and in legacy
   * JSON mode, which has none.
   */
  get hello(): Hello | null {
    return this.lastHello;
  }

  /** The subscription: camera ids, or `['*']`. */
  get cameras(): readonly string[] {
    return this.cameraList;
  }

  /** The address connected to, or to be tried next. */
  get url(): string {
    return this.addresses[this.addressIndex]!;
  }

  /** Connections made so far (1 after the first, 2 after one reconnection, ...). */
  get connectionCount(): number {
    return this.connections;
  }

  /** The newest state of a camera received so far. */
  latest(camera: string): CameraUpdate | undefined {
    return this.newest.get(camera);
  }

  /** Every camera a state was received for. */
  knownCameras(): string[] {
    return [...this.newest.keys()];
  }

  /** Starts connecting (and keeps reconnecting until close()). */
  connect(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.open();
    return this;
  }

  /** Closes for good: no reconnection. */
  close(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    this.negotiated = null;
    if (socket !== null) {
      detach(socket);
      try {
        socket.close(1000, 'client closed');
      } catch {
        // Still connecting: some implementations refuse to close then; it is dropped anyway.
      }
    }
    this.setState('closed');
  }

  /**
   * Replaces the subscription. Sent at once when connected; remembered for every later
   * reconnection either way. The server answers with the snapshot of newly added cameras.
   */
  subscribe(cameras: readonly string[], maxHz?: number): void {
    this.cameraList = [...cameras];
    if (maxHz !== undefined) this.rate = maxHz;
    if (this.currentState === 'open') {
      const message: Record<string, unknown> = { type: 'subscribe', cameras: this.cameraList };
      if (this.rate !== undefined) message.max_hz = this.rate;
      this.send(message);
    }
  }

  private send(message: Record<string, unknown>): void {
    const socket = this.socket;
    if (socket === null || this.negotiated === null) return;
    if (this.negotiated === 'msgpack' && this.msgpack !== null) socket.send(this.msgpack.pack(message));
    else socket.send(JSON.stringify(message));
  }

  /** Where the next connection resumes the tiles (null: none yet). */
  get tileResumePoint(): { epoch: string; seq: number } | null {
    return this.resumePoint === null ? null : { ...this.resumePoint };
  }

  private address(): string {
    const url = new URL(this.url);
    url.searchParams.set('camera', this.cameraList.join(','));
    const tiles = this.options.tiles ?? 'live';
    if (tiles !== 'live') url.searchParams.set('tiles', tiles);
    this.askedForTiles = tiles === 'map';
    if (tiles !== 'none' && this.resumePoint !== null) {
      url.searchParams.set('epoch', this.resumePoint.epoch);
      url.searchParams.set('tiles_since', String(this.resumePoint.seq));
      this.askedForTiles = true;
    }
    if (this.rate !== undefined) url.searchParams.set('max_hz', String(this.rate));
    if (this.options.token !== undefined) url.searchParams.set('token', this.options.token);
    return url.toString();
  }

  private offeredProtocols(): string[] {
    const offered = [SUBPROTOCOLS[this.preferred]];
    if (this.preferred === 'msgpack') offered.push(SUBPROTOCOLS.json);
    else if (this.msgpack !== null) offered.push(SUBPROTOCOLS.msgpack);
    return offered;
  }

  private open(): void {
    this.setState('connecting');
    let socket: WebSocketLike;
    try {
      socket = new this.WebSocketImpl(this.address(), this.offeredProtocols());
    } catch (error) {
      this.lost(1006, error instanceof Error ? error.message : String(error));
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      const legacy = socket.protocol === '';
      this.negotiated = socket.protocol === SUBPROTOCOLS.msgpack ? 'msgpack' : 'json';
      this.connections++;
      this.freshness.newConnection();
      this.backoff?.reset();
      this.setState('open');
      this.emit('open', { encoding: this.negotiated, legacy });
    };
    socket.onmessage = (event) => this.receive(event.data);
    // Every failure ends in a close event; that is where reconnection is decided.
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.lost(event.code, event.reason, socket.refusal ?? null);
    };
  }

  private lost(code: number, reason: string, refusal: HttpRefusal | null = null): void {
    if (this.socket !== null) detach(this.socket);
    const url = this.url;
    this.socket = null;
    this.negotiated = null;
    const retry = refusal === null || (this.options.retryRefusal ?? isTransientRefusal)(refusal);
    const willReconnect = !this.stopped && this.backoff !== null && retry;
    if (refusal !== null) {
      const where = new URL(url);
      where.search = '';
      this.emit('refused', { ...refusal, url: where.toString(), willReconnect });
      this.emit('disconnect', { code, reason: `HTTP ${refusal.status}${refusal.message === '' ? '' : ` ${refusal.message}`}`, willReconnect, refusal });
    } else {
      this.emit('disconnect', { code, reason, willReconnect });
    }
    if (!willReconnect) {
      this.stopped = true;
      this.setState('closed');
      return;
    }
    // A node that went away may not come back soon: the next one is tried.
    this.addressIndex = (this.addressIndex + 1) % this.addresses.length;
    const delayMs = this.backoff!.next();
    this.setState('reconnecting', delayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delayMs);
  }

  private receive(data: unknown): void {
    let message: ServerMessage;
    try {
      message = decodeFrame(data, this.msgpack);
    } catch (error) {
      this.emit('decode-error', error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.emit('message', message);
    switch (message.type) {
      case 'hello':
        this.lastHello = message;
        this.emit('hello', message);
        this.tilesGreeted(message);
        return;
      case 'camera_update':
        // The snapshot comes after the map or the missed tiles: they are all here.
        this.tilesComplete();
        if (this.isFresh(message.camera, message)) {
          this.newest.set(message.camera, message);
          this.emit('camera', message);
        }
        return;
      case 'tile_update':
        if (this.isFresh(TILES, message)) {
          this.tileReceived(message.seq);
          this.emit('tile', message);
        }
        return;
      case 'heartbeat':
        // Any message counts as a sign of life; answering keeps legacy-style servers happy too.
        this.send({ type: 'heartbeat', timestamp: Date.now() });
        this.emit('heartbeat', message);
        return;
      case 'error':
        this.emit('server-error', message);
        return;
      default:
        return;
    }
  }

  /**
   * A protocol 1.1 hello: the tiles this client holds are good up to `tile_seq` once the map
   * or missed tiles asked for have arrived (at once when none were asked for).
   */
  private tilesGreeted(hello: Hello): void {
    if (typeof hello.epoch !== 'string' || typeof hello.tile_seq !== 'number') return;
    const resumed = this.resumePoint !== null && (this.options.tiles ?? 'live') !== 'none';
    if (!hello.recovered) this.resumePoint = null;
    this.tilesPendingUpTo = hello.tile_seq;
    this.pendingContiguous = hello.recovered === true;
    this.resumePoint = { epoch: hello.epoch, seq: this.resumePoint?.seq ?? 0 };
    if (!this.askedForTiles || hello.recovered === false && (this.options.tiles ?? 'live') !== 'map') this.tilesComplete();
    this.emit('map', { recovered: hello.recovered === true, resumed, epoch: hello.epoch, tileSeq: hello.tile_seq });
  }

  private tileReceived(seq: number): void {
    const pending = this.tilesPendingUpTo;
    if (pending !== null) {
      if (seq >= pending) this.tilesComplete();
      // A map's tiles have gaps: the point moves only once all of it is here.
      if (this.tilesPendingUpTo !== null && !this.pendingContiguous) return;
    }
    if (this.resumePoint !== null && seq > this.resumePoint.seq) this.resumePoint.seq = seq;
  }

  private tilesComplete(): void {
    const pending = this.tilesPendingUpTo;
    if (pending === null) return;
    this.tilesPendingUpTo = null;
    if (this.resumePoint !== null && pending > this.resumePoint.seq) this.resumePoint.seq = pending;
  }

  private isFresh(key: string, message: CameraUpdate | TileUpdate): boolean {
    const newestSeq = this.freshness.lastSeq(key);
    if (this.freshness.admit(key, message.seq) !== 'stale') return true;
    this.emit('stale', { message, newestSeq: newestSeq ?? message.seq });
    return false;
  }

  private setState(state: ConnectionState, delayMs?: number): void {
    this.currentState = state;
    const change: StateChange = { state, attempt: this.backoff?.attempts ?? 0 };
    if (delayMs !== undefined) change.delayMs = delayMs;
    this.emit('state', change);
  }
}

function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = () => undefined;
}
