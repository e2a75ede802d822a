// Garbage from the network against a real server process: random WebSocket frames on every
// kind of session and random bytes straight to the port. The process stays up, answers every
// frame it can read with a documented error, and a well-behaved client keeps receiving.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect as tcpConnect } from 'node:net';
import fc from 'fast-check';
import { startServer, stopAllProcesses } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { ERROR_CODES } from '../../src/protocol/messages.js';

afterAll(async () => {
  closeAllClients();
  await stopAllProcesses();
  removeTempDirs();
});

describe('random input from the network', () => {
  it('never brings the server down, and every answer is a documented error', async () => {
    const db = join(tempDir(), 'camera.db');
    // Many errors per connection are the point here: each connection is cut after ten.
    const server = await startServer(['--db', db, '--producer-token', 'fuzz', '--max-message-bytes', '4096']);
    const watcher = await connect(server.url, { protocols: ['wirecam.v1.msgpack'] });
    const frames = fc.sample(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()), { numRuns: 600, seed: 20261125 });
    const kinds = [
      { protocols: ['wirecam.v1.json'] },
      { protocols: ['wirecam.v1.msgpack'] },
      {},
      { protocols: ['wirecam.v1.msgpack'], headers: { Authorization: 'Bearer fuzz' } },
    ];
    let answered = 0;
    for (let start = 0; start < frames.length; start += 9) {
      const client = await connect(server.url, kinds[(start / 9) % kinds.length]!);
      for (const [bytes, binary] of frames.slice(start, start + 9)) {
        client.sendRaw(binary ? Buffer.from(bytes) : Buffer.from(bytes).toString('latin1'), binary);
      }
      // Nine errors at most: the connection stays, and each frame got its answer.
      await waitFor(() => client.ofType('error').length + client.ofType('ack').length >= Math.min(9, frames.length - start), 'an answer to every frame', 10_000);
      for (const error of client.ofType('error')) expect(ERROR_CODES).toContain(error.code);
      answered += client.ofType('error').length + client.ofType('ack').length;
      client.close();
    }
    // Bytes that are not HTTP at all.
    for (const bytes of fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { numRuns: 50, seed: 7 })) {
      await new Promise<void>((resolve) => {
        const socket = tcpConnect({ host: '127.0.0.1', port: server.port }, () => socket.end(Buffer.from(bytes)));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    const health = await fetch(`${server.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 1, y: 2, zoom: 3 }] });
    await watcher.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the watcher to keep receiving');
    console.log(`fuzz: ${frames.length} random frames on ${Math.ceil(frames.length / 9)} connections, ${answered} answers, 50 garbage connections; server up`);
  });
});
