// A client that stops reading (docs/protocol.md 6.2): the server keeps at most the newest state per
// camera for it instead of queueing, and it gets the final states when it reads again.
// The server runs in this process (real sockets, real store, real worker pool) so that the
// stalled client's server-side buffer can be looked at directly.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { startInProcessServer, stopInProcessServers } from '../helpers/in-process.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { stopAllProcesses } from '../helpers/processes.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterAll(async () => {
  closeAllClients();
  await stopInProcessServers();
  await stopAllProcesses();
  removeTempDirs();
});

describe('a client that stops reading', () => {
  it('holds only the newest state per camera for it, and delivers the final states once it reads again', async () => {
    const db = join(tempDir(), 'camera.db');
    // 1 kHz per camera and a large burst: the stalled client is offered far more than the
    // kernel's socket buffers can absorb, so only conflation can keep the server's side small.
    const server = await startInProcessServer(['--db', db, '--max-hz', '1000', '--burst', '100']);
    const reader = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    const stalled = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    const stalledPort = (stalled.ws as unknown as { _socket: Socket })._socket.localPort;
    const serverSide = [...server.hub.clients].find((c) => (c.transport as unknown as Socket).remotePort === stalledPort)!;
    expect(serverSide).toBeDefined();
    stalled.pause();

    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, serverSide.transport.writableLength)), 5);
    const results = await Promise.all(
      [0, 1, 2, 3].map(() => writeRowsFromAnotherProcess({ db, burst: { camera: 'cam', cameras: 40, count: 60_000, perTransaction: 200 } })),
    );
    const lastIds = results.map((r) => r.lastId);
    const lastId = Math.max(...lastIds);
    await waitFor(() => reader.messages.some((m) => m.seq === lastId), 'the reading client to get the last row', 30_000);
    clearInterval(sampler);

    const offered = reader.cameraUpdates().length;
    const offeredBytes = offered * 200;
    const coalesced = server.hub.counters.coalesced;
    console.log(
      `stalled client: ${offered} updates (~${(offeredBytes / 1e6).toFixed(1)} MB) offered; its server-side buffer peaked at ` +
        `${(maxBuffered / 1024).toFixed(1)} KiB; ${serverSide.pending?.size ?? 0} states held back; ${coalesced} states coalesced`,
    );
    // More was offered than loopback buffers hold (a few MB each way)...
    expect(offeredBytes).toBeGreaterThan(16e6);
    // ...yet the server's buffer for the client stayed small: one tick's batch on top of the
    // socket's high-water mark (queueing would have put tens of MB there), and what it holds
    // back is one state per camera at most.
    expect(maxBuffered).toBeLessThan(Math.min(4 * 1024 * 1024, offeredBytes / 10));
    expect(serverSide.pending).not.toBeNull();
    expect(serverSide.pending!.size).toBeLessThanOrEqual(40);

    stalled.resume();
    await waitFor(() => stalled.messages.some((m) => m.seq === lastId), 'the stalled client to reach the final state', 30_000);
    for (let c = 0; c < 40; c++) {
      const camera = `cam-${c}`;
      await waitFor(() => stalled.lastCameraUpdate(camera)?.seq === reader.lastCameraUpdate(camera)?.seq, `final state of ${camera}`);
    }
    const seqs = stalled.cameraUpdates('cam-0').map((m) => m.seq as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(stalled.cameraUpdates().length).toBeLessThan(offered);
  });
});
