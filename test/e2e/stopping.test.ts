// A stop that waits (queued producer updates, another process holding the store's write
// lock): HTTP keeps answering until the end of the stop, /readyz with 503 "stopping" so that
// a load balancer takes the node out, /healthz as before; upgrades are refused with 503.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startServer, stopAllProcesses, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { queryStore } from '../helpers/store.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { holdWriteLock } from '../helpers/lock.js';

const TOKEN = 'stop-token';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

/** GET `path`: status and body text, or the connection error's code. */
async function get(server: ServerProcess, path: string): Promise<{ status: number; text: string } | { error: string }> {
  try {
    const response = await fetch(`${server.httpUrl}${path}`, { signal: AbortSignal.timeout(3000) });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? String(error) };
  }
}

describe('a stop that waits for queued producer updates', () => {
  it('answers /readyz 503 stopping and /healthz until it ends, refuses upgrades with 503, and stores what was queued', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    await producer.opened;

    // Another process takes the write lock and holds it until told to let go (or 30 s).
    const holder = await holdWriteLock(db);
    for (let i = 0; i < 5; i++) producer.sendJson({ type: 'camera_update', camera: 'queued', x: i, y: 0, zoom: 1 });
    await waitFor(async () => {
      const health = await get(server, '/healthz');
      return 'status' in health && health.text.includes('"store":"busy"');
    }, 'the writes to wait on the lock');

    process.kill(server.pid, 'SIGTERM');
    await waitFor(async () => {
      const ready = await get(server, '/readyz');
      return 'status' in ready && ready.status === 503;
    }, '/readyz to say stopping');
    // The stop waits for the lock; meanwhile every answer is given, several times over.
    for (let i = 0; i < 3; i++) {
      expect(await get(server, '/readyz')).toEqual({ status: 503, text: '{"status":"stopping"}\n' });
      const health = await get(server, '/healthz');
      expect(health).toMatchObject({ status: 200 });
      expect(JSON.parse((health as { text: string }).text)).toMatchObject({ store: 'busy' });
      const refused = await connect(server.url, { protocols: ['wirecam.v1.json'] }).then(() => 'opened', (e: { status?: number; message: string }) => `${e.status} ${e.message}`);
      expect(refused).toBe('503 HTTP 503: server is shutting down');
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(producer.ofType('ack')).toHaveLength(0);

    holder.child.stdin!.write('go\n');
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(producer.ofType('ack')).toHaveLength(5);
    expect(queryStore<{ x: number }>(db, "SELECT x FROM camera_updates WHERE camera = 'queued' ORDER BY id").map((r) => r.x)).toEqual([0, 1, 2, 3, 4]);
    // Once stopped, nothing listens.
    expect(await get(server, '/readyz')).toEqual({ error: 'ECONNREFUSED' });
  });
});
