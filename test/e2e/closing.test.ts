// The bytes of a WebSocket connection follow RFC 6455: one 101 response, then frames, then at
// most one Close frame, then nothing (sections 5.5.1 and 7.1.1). Looked at on the raw byte
// stream a client gets (a plain TCP socket doing the handshake itself), with a real server
// process, updates and tiles written by another process, and a client that is behind.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { clientFrame, closeOf, OPCODE, RawWebSocket, type RawFrame } from '../helpers/raw-websocket.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const raws = new Set<RawWebSocket>();
afterAll(async () => {
  for (const raw of raws) raw.destroy();
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

const MiB = 1024 * 1024;

/** Every frame of the stream, the one Close among them, and what followed it. */
function afterClose(raw: RawWebSocket): { close: RawFrame; index: number; framesAfter: number; bytesAfter: number } {
  const closes = raw.frames.map((f, i) => ({ f, i })).filter(({ f }) => f.opcode === OPCODE.close);
  expect(closes.length, 'Close frames received').toBeGreaterThanOrEqual(1);
  const { f: close, i: index } = closes[0]!;
  const closeEnd = close.offset + 2 + close.payload.length; // a Close payload is at most 125 bytes
  return { close, index, framesAfter: raw.frames.length - index - 1, bytesAfter: raw.received - closeEnd };
}

const tilesOf = (client: TestClient) => client.messages.reduce((n, m) => n + (m.type === 'tile_update' ? 1 : 0), 0);

describe('a client that is behind ends its connection', { timeout: 180_000 }, () => {
  const triggers: Array<{ name: string; code: number; send: (raw: RawWebSocket) => void }> = [
    { name: 'Close 1000', code: 1000, send: (raw) => raw.sendClose(1000, 'bye') },
    // A header announcing more than --max-message-bytes is enough for the server to refuse it.
    { name: 'a message over the size limit (1009)', code: 1009, send: (raw) => raw.send(clientFrame(OPCODE.text, Buffer.alloc(0), { declaredLength: 100_000 })) },
    { name: 'a text message that is not UTF-8 (1007)', code: 1007, send: (raw) => raw.send(clientFrame(OPCODE.text, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))) },
  ];

  for (const trigger of triggers) {
    it(`after ${trigger.name}: the server's Close is the last frame, and not one byte follows it`, async () => {
      const db = join(tempDir(), 'camera.db');
      // A bound on what is held for a slow client far above this test's traffic: the client is
      // behind, not cut for being slow.
      const server = await startServer(['--db', db, '--slow-consumer-bytes', String(512 * MiB), '--max-message-bytes', '65536']);
      const watcher = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
      const raw = await RawWebSocket.connect(server.url, { protocol: 'wirecam.v1.json', query: 'camera=*', paused: true });
      raws.add(raw);
      expect(raw.response).toMatch(/^HTTP\/1\.1 101 /);
      // Camera updates and tiles keep flowing for a few seconds, from another process.
      const writers = Promise.all([
        writeRowsFromAnotherProcess({ db, burst: { count: 150_000, perTransaction: 500, rateHz: 30_000, tiles: true } }),
        writeRowsFromAnotherProcess({ db, burst: { camera: 'cam', cameras: 10, count: 25_000, perTransaction: 100, rateHz: 5_000 } }),
      ]);
      // Far more than loopback's buffers hold has been sent by now: the server holds a backlog.
      await waitFor(() => tilesOf(watcher) >= 50_000, 'the watcher to get 50000 tiles', 60_000);
      trigger.send(raw);
      const atTrigger = tilesOf(watcher);
      await waitFor(() => tilesOf(watcher) >= atTrigger + 20_000, 'more tiles after the close', 60_000);
      raw.resume();
      await raw.waitForEnd('the server to end the connection', 60_000);
      await writers;

      const { close, index, framesAfter, bytesAfter } = afterClose(raw);
      console.log(
        `${trigger.name}: ${index} frames (${(close.offset / MiB).toFixed(1)} MiB) before the server's Close ${closeOf(close).code}, ` +
          `${framesAfter} frames / ${bytesAfter} bytes after it`,
      );
      expect(closeOf(close).code).toBe(trigger.code);
      expect(index).toBeGreaterThan(100); // data flowed before the close
      expect(framesAfter).toBe(0);
      expect(bytesAfter).toBe(0);
      expect(raw.partial).toBe(0);
      // The server itself is fine, and the other client still gets everything.
      expect(watcher.closed).toBeNull();
      await stopProcess(server);
    });
  }
});

describe('a slow consumer', { timeout: 180_000 }, () => {
  it('gets Close 4000 as its last frame without waiting behind its backlog', async () => {
    const db = join(tempDir(), 'camera.db');
    const cap = 1 * MiB;
    const server = await startServer(['--db', db, '--slow-consumer-bytes', String(cap)]);
    const watcher = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    const raw = await RawWebSocket.connect(server.url, { protocol: 'wirecam.v1.json', paused: true });
    raws.add(raw);
    const writing = writeRowsFromAnotherProcess({ db, burst: { count: 200_000, perTransaction: 1000, tiles: true } });
    await waitFor(() => server.logs().some((l) => l.msg === 'closed slow consumer'), 'the server to close the slow consumer', 60_000);
    // It keeps reading, slowly: what reaches it before the Close is what the kernel and the
    // server still held when the server gave up on it, not everything owed since.
    raw.readAtRate(2 * MiB);
    await raw.waitForEnd('the server to end the connection', 60_000);
    const { lastTileId } = await writing;
    await watcher.waitForMessage((m) => m.type === 'tile_update' && m.seq === lastTileId, 'the watcher to get every tile', 60_000);
    const last = raw.frames.at(-1);
    console.log(
      `slow consumer: ${raw.frames.length} frames, ${(raw.received / MiB).toFixed(2)} MiB received; last frame opcode ${last?.opcode}; ` +
        `connection ended by ${raw.error === null ? 'FIN' : raw.error.message}`,
    );
    const { close, index, framesAfter, bytesAfter } = afterClose(raw);
    console.log(
      `slow consumer (cap ${cap} bytes): Close ${closeOf(close).code} after ${index} frames, ${(close.offset / MiB).toFixed(2)} MiB; ` +
        `${framesAfter} frames / ${bytesAfter} bytes after it`,
    );
    expect(closeOf(close)).toEqual({ code: 4000, reason: 'slow consumer' });
    expect(framesAfter).toBe(0);
    expect(bytesAfter).toBe(0);
    expect(raw.partial).toBe(0);
    // Ahead of the Close: loopback's buffers (a few MiB at most) and the server's own
    // (one write past its high-water mark), nowhere near everything the client was owed.
    expect(close.offset).toBeLessThan(cap + 8 * MiB);
    // The tiles it got came in order, without a gap.
    let previous = 0;
    for (const frame of raw.frames) {
      if (frame.opcode !== OPCODE.text) continue;
      const message = JSON.parse(frame.payload.toString('utf8')) as { type: string; seq: number };
      if (message.type !== 'tile_update') continue;
      if (previous !== 0) expect(message.seq).toBe(previous + 1);
      previous = message.seq;
    }
    expect(watcher.closed).toBeNull();
    await stopProcess(server);
  });

  it('gets Close 4000 when its socket takes nothing for --slow-consumer-grace-ms, though it is owed less than the bound', async () => {
    const db = join(tempDir(), 'camera.db');
    const cap = 256 * MiB;
    const server = await startServer(['--db', db, '--slow-consumer-bytes', String(cap), '--slow-consumer-grace-ms', '1000']);
    const raw = await RawWebSocket.connect(server.url, { protocol: 'wirecam.v1.json', paused: true });
    raws.add(raw);
    // About 9 MB of tiles: more than loopback's buffers take, far less than the bound.
    await writeRowsFromAnotherProcess({ db, burst: { count: 100_000, perTransaction: 1000, tiles: true } });
    const closed = await waitFor(() => server.logs().find((l) => l.msg === 'closed slow consumer'), 'the server to close the stalled client', 60_000);
    expect(closed.buffered_bytes as number).toBeGreaterThan(0);
    expect(closed.buffered_bytes as number).toBeLessThan(cap);
    raw.resume();
    await raw.waitForEnd('the server to end the connection', 60_000);
    const { close, framesAfter, bytesAfter } = afterClose(raw);
    expect(closeOf(close)).toEqual({ code: 4000, reason: 'slow consumer' });
    expect(framesAfter).toBe(0);
    expect(bytesAfter).toBe(0);
    await stopProcess(server);
  });
});
