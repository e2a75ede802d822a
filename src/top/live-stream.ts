// What `wirecam top` measures itself, as one more client subscribed to every camera:
// updates per second per camera and the latency of each update (now minus its producer
// timestamp), whatever the server exports.
import { LatencyWindow, RateMeter, WirecamClient, type ConnectionState, type Refused } from '../client/node.js';

/**
 * One camera as top's subscription sees it: `rate` in updates/s over the last 2 s, `lastSeq` of
 * its newest state, `lastAt` when that arrived (ms since the epoch, this machine's clock).
 */
export interface CameraFigures {
  camera: string;
  rate: number;
  lastSeq: number;
  lastAt: number;
}

/**
 * What top's own subscription measured. `encoding`, `server` and `maxHz` (Hz) come from the
 * connection and its hello (null before them); `cameras` fastest first; `totalRate` and
 * `tileRate` in updates/s over 2 s; `reconnections` since start.
 */
export interface StreamFigures {
  state: ConnectionState;
  encoding: string | null;
  server: string | null;
  maxHz: number | null;
  cameras: CameraFigures[];
  totalRate: number;
  tileRate: number;
  /** p50, p90, p99, max in ms over the window, null without samples. */
  latency: { p50: number | null; p90: number | null; p99: number | null; max: number | null; samples: number };
  reconnections: number;
  /**
   * The server's refusal of the last attempt (HTTP status and its message, and whether it is
   * tried again: not after a 4xx other than 408 and 429); null (or absent) once connected.
   */
  refusal?: Refused | null;
}

/**
 * A WirecamClient subscribed to every camera (`*`, MessagePack, reconnecting at most 2 s apart,
 * except after a refusal that trying again cannot change: `figures().refusal`)
 * that measures rates and latency (receipt time minus producer timestamp, ms; the first state
 * of each camera per connection, usually the snapshot, is not counted). `token`: for a server
 * that asks for one.
 */
export class LiveStream {
  private readonly client: WirecamClient;
  private readonly rates = new Map<string, { meter: RateMeter; lastSeq: number; lastAt: number }>();
  private readonly total = new RateMeter(2000);
  private readonly tiles = new RateMeter(2000);
  private readonly latency = new LatencyWindow(5000);
  private readonly startedAt = Date.now();
  private readonly seenOnConnection = new Set<string>();
  private refusal: Refused | null = null;

  constructor(url: string, token?: string) {
    this.client = new WirecamClient({ url, cameras: ['*'], encoding: 'msgpack', reconnect: { maxDelayMs: 2000 }, ...(token !== undefined ? { token } : {}) });
    this.client.on('camera', (update) => {
      const now = Date.now();
      let entry = this.rates.get(update.camera);
      if (entry === undefined) {
        entry = { meter: new RateMeter(2000), lastSeq: 0, lastAt: 0 };
        this.rates.set(update.camera, entry);
      }
      entry.meter.record(now);
      entry.lastSeq = update.seq;
      entry.lastAt = now;
      this.total.record(now);
      // The first state of a connection is usually the snapshot: its age is not a latency.
      if (this.seenOnConnection.has(update.camera)) this.latency.record(Math.max(0, now - update.timestamp), now);
      this.seenOnConnection.add(update.camera);
    });
    this.client.on('open', () => {
      this.seenOnConnection.clear();
      this.refusal = null;
    });
    this.client.on('refused', (refused) => (this.refusal = refused));
    this.client.on('tile', () => this.tiles.record(Date.now()));
  }

  /** Connects; keeps reconnecting until stop(). */
  start(): void {
    this.client.connect();
  }

  /** Closes the connection for good. */
  stop(): void {
    this.client.close();
  }

  /** The figures at `now` (ms since the epoch). */
  figures(now: number): StreamFigures {
    const [p50, p90, p99, max] = this.latency.percentiles([50, 90, 99, 100], now);
    const cameras = [...this.rates.entries()]
      .map(([camera, entry]) => ({ camera, rate: entry.meter.rate(now, this.startedAt), lastSeq: entry.lastSeq, lastAt: entry.lastAt }))
      .sort((a, b) => b.rate - a.rate || a.camera.localeCompare(b.camera));
    return {
      state: this.client.state,
      encoding: this.client.encoding,
      server: this.client.hello?.server ?? null,
      maxHz: this.client.hello?.max_hz ?? null,
      cameras,
      totalRate: this.total.rate(now, this.startedAt),
      tileRate: this.tiles.rate(now, this.startedAt),
      latency: { p50: p50 ?? null, p90: p90 ?? null, p99: p99 ?? null, max: max ?? null, samples: this.latency.count(now) },
      reconnections: Math.max(0, this.client.connectionCount - 1),
      refusal: this.refusal,
    };
  }
}
