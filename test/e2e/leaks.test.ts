// No leaks from clients that misbehave or merely come and go: a client that never reads, a
// client that sends a frame one byte at a time, and 1,000 connect/disconnect cycles leave
// the server's heap and its handle count where they were. The server runs in this process
// (real sockets, store and workers) so its heap and handles can be measured after a GC; the
// clients run in another process so that their own objects do not count.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect as tcpConnect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startInProcessServer, stopInProcessServers } from '../helpers/in-process.js';
import { startProcess, stopAllProcesses } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

afterAll(async () => {
  closeAllClients();
  await stopInProcessServers();
  await stopAllProcesses();
  removeTempDirs();
});

async function settle(): Promise<{ heap: number; handles: number }> {
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const resources = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate');
  return { heap: process.memoryUsage().heapUsed, handles: resources.length };
}

const CYCLES_SCRIPT = `
import WebSocket from 'ws';
const [url, cycles] = [process.argv[1], Number(process.argv[2])];
let done = 0;
async function one(i) {
  await new Promise((resolve) => {
    const ws = new WebSocket(url, i % 2 ? ['wirecam.v1.msgpack'] : []);
    ws.on('open', () => (i % 3 ? ws.close() : ws.terminate()));
    ws.on('close', resolve);
    ws.on('error', resolve);
  });
  done++;
}
for (let i = 0; i < cycles; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => one(i + k)));
console.log(JSON.stringify({ done }));
`;

describe('misbehaving and short-lived clients', () => {
  it('leave heap and handles at their baseline', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startInProcessServer(['--db', db, '--idle-timeout-ms', '1000', '--heartbeat-ms', '250', '--max-connections-per-ip', '0']);
    const url = server.url;
    const port = server.address.port;
    // Every camera gets its state first: the latest state of each is kept for snapshots.
    const warm = await connect(url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    await writeRowsFromAnotherProcess({ db, burst: { camera: 'main', cameras: 20, count: 200, perTransaction: 20 } });
    await waitFor(() => new Set(warm.cameraUpdates().map((m) => m.camera)).size === 20, 'warm-up traffic on every camera');
    warm.close();
    await waitFor(() => server.sessions.size === 0, 'the warm-up client to go');

    const exercise = async (cycleCount: number) => {
      // 1. A client that connects and never reads, while rows flow; then it goes away.
      const stalled = await connect(url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
      stalled.pause();
      await writeRowsFromAnotherProcess({ db, burst: { camera: 'main', cameras: 20, count: 20_000, perTransaction: 200 } });
      stalled.close();

      // 2. A client that sends a frame one byte at a time: cut off at the idle timeout.
      const trickler = tcpConnect({ host: '127.0.0.1', port });
      trickler.on('error', () => undefined);
      await new Promise<void>((resolve) => trickler.once('connect', () => resolve()));
      trickler.write(
        'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      const frame = Buffer.concat([Buffer.from([0x81, 0x80 | 20, 0, 0, 0, 0]), Buffer.from('{"type":"heartbeat"}')]);
      let sent = 0;
      const drip = setInterval(() => {
        if (sent < frame.length && !trickler.destroyed) trickler.write(frame.subarray(sent, ++sent));
      }, 150);
      await new Promise<void>((resolve) => trickler.once('close', () => resolve()));
      clearInterval(drip);
      expect(sent).toBeLessThan(frame.length);

      // 3. Connect/disconnect cycles from another process (a thousand in the measured run).
      const cycles = startProcess(['--input-type=module', '-e', CYCLES_SCRIPT, url, String(cycleCount)], { cwd: process.cwd() });
      expect((await cycles.exited).code, cycles.stderr.join('\n')).toBe(0);
      expect(JSON.parse(cycles.stdout.find((l) => l.startsWith('{'))!)).toEqual({ done: cycleCount });

      await waitFor(() => server.sessions.size === 0 && server.hub.clients.size === 0, 'every client to be gone', 10_000);
    };
    // Once to warm up (code compiled for these paths is not a leak), then the measured run.
    await exercise(100);
    const baseline = await settle();
    await exercise(1000);
    const after = await settle();
    const grownMiB = (after.heap - baseline.heap) / 1024 / 1024;
    console.log(
      `leaks: heap ${(baseline.heap / 1024 / 1024).toFixed(1)} -> ${(after.heap / 1024 / 1024).toFixed(1)} MiB (${grownMiB >= 0 ? '+' : ''}${grownMiB.toFixed(2)}), ` +
        `handles ${baseline.handles} -> ${after.handles}`,
    );
    expect(after.handles).toBe(baseline.handles);
    // A leak of even 1 KiB per connection would be 1 MiB here.
    expect(grownMiB).toBeLessThan(1);
  });
});
