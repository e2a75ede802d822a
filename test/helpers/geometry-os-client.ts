// A client that behaves exactly like the Geometry OS compositor client: no subprotocol,
// JSON.parse of every frame, a switch on message.type, and every heartbeat answered with
// {"type":"heartbeat","timestamp":<seconds>}. Like Geometry OS's infinite map, it keeps each
// tile's `timestamp` by coordinate and takes a map manifest entry (Unix seconds) as newer only
// when its seconds are larger.
import WebSocket from 'ws';

export class GeometryOsClient {
  camera: Record<string, unknown> | null = null;
  tiles: Array<Record<string, unknown>> = [];
  /** "x,y" -> the tile's `timestamp` as received (the infinite map's staleness check uses it). */
  readonly tileTimestamps = new Map<string, number>();
  heartbeats: Array<Record<string, unknown>> = [];
  heartbeatsAnswered = 0;
  unknown: Array<Record<string, unknown>> = [];
  cameraUpdates = 0;
  parseFailures = 0;
  readonly socket: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.socket.onopen = () => resolve();
      this.socket.onerror = (event) => reject(event.error);
    });
    this.socket.onmessage = (event) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        this.parseFailures++;
        return;
      }
      switch (message.type) {
        case 'camera_update':
          this.camera = message;
          this.cameraUpdates++;
          break;
        case 'tile_update':
          this.tiles.push(message);
          this.tileTimestamps.set(`${message.x},${message.y}`, message.timestamp as number);
          break;
        case 'heartbeat':
          this.heartbeats.push(message);
          this.socket.send(JSON.stringify({ type: 'heartbeat', timestamp: Date.now() / 1000 }));
          this.heartbeatsAnswered++;
          break;
        default:
          this.unknown.push(message);
      }
    };
  }

  /** The infinite map's check: is a manifest entry (Unix seconds) newer than the tile it has? */
  manifestIsNewer(x: number, y: number, manifestSeconds: number): boolean {
    const known = this.tileTimestamps.get(`${x},${y}`);
    return known === undefined || manifestSeconds > known;
  }

  close(): void {
    this.socket.terminate();
  }
}
