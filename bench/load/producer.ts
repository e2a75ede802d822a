// The bench producer, in its own process: camera states at a fixed rate per camera (or as
// fast as the receiver takes them), into wirecam's store, a peer's TCP feed, or NATS.
// Each state carries the time it was recorded; at the end it prints the final seq of every
// camera so the runner can check that every client ended on it.
import { connect, type Socket } from 'node:net';
import Database from 'better-sqlite3';

export interface ProducerSpec {
  mode: 'sqlite' | 'feed' | 'nats';
  db?: string;
  host?: string;
  port?: number;
  cameras: number;
  /** States per second per camera; 0: as fast as the receiver takes them. */
  rateHz: number;
  durationMs: number;
}

const spec = JSON.parse(process.argv[2]!) as ProducerSpec;
const deadline = performance.now() + spec.durationMs;
const cameraIds = Array.from({ length: spec.cameras }, (_, i) => (spec.cameras === 1 ? 'main' : `cam-${i}`));
const finalSeq: Record<string, number> = {};
let published = 0;
let nextSeq = 1;

function state(camera: string, seq: number, timestamp: number) {
  const t = seq / 100;
  return {
    type: 'camera_update', camera, seq,
    x: 1000 * Math.cos(t) + 0.5, y: 600 * Math.sin(t) + 0.25, zoom: 1.25 + 0.5 * Math.sin(t / 3),
    target_x: 1000 * Math.cos(t + 0.1) + 0.5, target_y: 600 * Math.sin(t + 0.1) + 0.25, target_zoom: 1.3, timestamp,
  };
}

/** Writes one tick (one state per camera); resolves when the receiver can take more. */
type TickWriter = (count: number) => Promise<void> | void;

function sqliteWriter(): TickWriter {
  const db = new Database(spec.db!);
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insert = db.prepare('INSERT INTO camera_updates (camera, x, y, zoom, target_x, target_y, target_zoom, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const tick = db.transaction((count: number) => {
    for (let k = 0; k < count; k++) {
      for (const camera of cameraIds) {
        const s = state(camera, published, Date.now());
        finalSeq[camera] = Number(insert.run(camera, s.x, s.y, s.zoom, s.target_x, s.target_y, s.target_zoom, s.timestamp).lastInsertRowid);
        published++;
      }
    }
  });
  return (count) => tick(count);
}

function socketWriter(format: (camera: string, json: string) => string): Promise<TickWriter> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: spec.host ?? '127.0.0.1', port: spec.port! }, () => {
      socket.setNoDelay(true);
      resolve((count) => {
        let text = '';
        for (let k = 0; k < count; k++) {
          for (const camera of cameraIds) {
            const seq = nextSeq++;
            text += format(camera, JSON.stringify(state(camera, seq, Date.now())));
            finalSeq[camera] = seq;
            published++;
          }
        }
        if (socket.write(text)) return undefined;
        // A receiver that stops reading must not keep the producer past its deadline.
        return new Promise<void>((drained) => {
          const timer = setTimeout(drained, Math.max(0, deadline - performance.now()));
          socket.once('drain', () => {
            clearTimeout(timer);
            drained();
          });
        });
      });
    });
    socket.on('error', reject);
    // NATS greets with INFO and may PING; answer so the publisher stays connected.
    socket.on('data', (chunk: Buffer) => {
      if (chunk.includes('PING')) socket.write('PONG\r\n');
    });
    if (spec.mode === 'nats') socket.write('CONNECT {"verbose":false,"pedantic":false}\r\n');
  });
}

async function main(): Promise<void> {
  const write: TickWriter =
    spec.mode === 'sqlite'
      ? sqliteWriter()
      : await socketWriter(spec.mode === 'nats' ? (camera, json) => `PUB cam.${camera} ${json.length}\r\n${json}\r\n` : (_camera, json) => `${json}\n`);
  const start = performance.now();
  let ticks = 0;
  while (performance.now() < deadline) {
    if (spec.rateHz > 0) {
      await write(1);
      ticks++;
      const due = start + (ticks * 1000) / spec.rateHz;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    } else {
      // As fast as it is taken: small batches, yielding so the socket can drain.
      await write(spec.mode === 'sqlite' ? 20 : 10);
      if (spec.mode === 'sqlite') await new Promise((resolve) => setImmediate(resolve));
    }
  }
  process.stdout.write(`${JSON.stringify({ final: finalSeq, published, seconds: (performance.now() - start) / 1000 })}\n`);
  // Let queued bytes leave before exiting.
  setTimeout(() => process.exit(0), 200);
}

main().catch((error: unknown) => {
  process.stderr.write(`producer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
