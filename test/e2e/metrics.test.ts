// GET /metrics scraped during real runs: the counters move by what actually happened (clients
// connected, rows written by another process, messages and bytes received by the clients,
// invalid rows, refused messages), the README's metric names exist, and nothing on the
// broadcast path writes a log line per message.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';
import { startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { scrape, type Scrape } from '../helpers/metrics.js';

const TOKEN = 'metrics-token';

afterEach(async () => {
  closeAllClients();
  for (const ws of rawClients.splice(0)) ws.terminate();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

/** A client that records the size of every frame it gets, listening from before the handshake. */
interface CountingClient {
  ws: WebSocket;
  /** Camera and tile messages: their payload sizes and seqs. */
  updates: Array<{ bytes: number; seq: number; type: string }>;
}

const rawClients: WebSocket[] = [];

async function countingClient(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<CountingClient> {
  const ws = new WebSocket(`${url}?camera=*`, protocols, { headers });
  rawClients.push(ws);
  const client: CountingClient = { ws, updates: [] };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const message = (isBinary ? decode(data) : JSON.parse(data.toString('utf8'))) as { type: string; seq: number };
    if (message.type === 'camera_update' || message.type === 'tile_update') client.updates.push({ bytes: data.length, seq: message.seq, type: message.type });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return client;
}

/** The bytes of a server-to-client frame: payload plus an unmasked header (RFC 6455 5.2). */
function framedBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}): number {
  return after.value(name, labels) - (before.find(name, labels)?.value ?? 0);
}

describe('GET /metrics during a run', () => {
  it('counts clients by encoding and role, and messages, bytes, updates and latency as they are delivered', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });

    const empty = await scrape(server.httpUrl);
    expect(empty.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const encoding of ['json', 'msgpack']) for (const role of ['viewer', 'producer']) expect(empty.value('wirecam_clients', { encoding, role })).toBe(0);
    expect(empty.value('wirecam_messages_sent_total', { encoding: 'json' })).toBe(0);
    // Node's own process metrics, with the service's prefix.
    expect(empty.value('wirecam_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(empty.has('wirecam_nodejs_eventloop_lag_seconds')).toBe(true);
    expect(empty.find('wirecam_info')).toMatchObject({ value: 1, labels: { version: expect.stringMatching(/^\d+\.\d+\.\d+/) } });

    // Two legacy/json viewers, one json producer, three msgpack viewers.
    const json = [
      await countingClient(server.url, []),
      await countingClient(server.url, ['wirecam.v1.json']),
      await countingClient(server.url, ['wirecam.v1.json'], { Authorization: `Bearer ${TOKEN}` }),
    ];
    const msgpack = [
      await countingClient(server.url, ['wirecam.v1.msgpack']),
      await countingClient(server.url, ['wirecam.v1.msgpack']),
      await countingClient(server.url, ['wirecam.v1.msgpack']),
    ];
    const connected = await scrape(server.httpUrl);
    expect(connected.value('wirecam_clients', { encoding: 'json', role: 'viewer' })).toBe(2);
    expect(connected.value('wirecam_clients', { encoding: 'json', role: 'producer' })).toBe(1);
    expect(connected.value('wirecam_clients', { encoding: 'msgpack', role: 'viewer' })).toBe(3);
    expect(connected.value('wirecam_clients', { encoding: 'msgpack', role: 'producer' })).toBe(0);

    // 60 states of 60 different cameras and 20 tiles: none is coalesced, every client gets all 80.
    const cameras = await writeRowsFromAnotherProcess({ db, burst: { camera: 'cam', cameras: 60, count: 60, perTransaction: 60 } });
    const tiles = await writeRowsFromAnotherProcess({ db, burst: { count: 20, perTransaction: 20, tiles: true } });
    const updates = 80;
    for (const client of [...json, ...msgpack]) {
      await waitFor(
        () => client.updates.some((u) => u.type === 'camera_update' && u.seq === cameras.lastId) && client.updates.some((u) => u.type === 'tile_update' && u.seq === tiles.lastTileId),
        'every client to get the last camera state and the last tile',
      );
    }
    const after = await scrape(server.httpUrl);

    expect(delta(connected, after, 'wirecam_updates_received_total', { kind: 'camera' })).toBe(60);
    expect(delta(connected, after, 'wirecam_updates_received_total', { kind: 'tile' })).toBe(20);
    // Messages: at least clients × updates, and exactly what the clients received.
    const sentJson = delta(connected, after, 'wirecam_messages_sent_total', { encoding: 'json' });
    const sentMsgpack = delta(connected, after, 'wirecam_messages_sent_total', { encoding: 'msgpack' });
    expect(sentJson).toBeGreaterThanOrEqual(json.length * updates);
    expect(sentMsgpack).toBeGreaterThanOrEqual(msgpack.length * updates);
    expect(sentJson).toBe(json.reduce((n, c) => n + c.updates.length, 0));
    expect(sentMsgpack).toBe(msgpack.reduce((n, c) => n + c.updates.length, 0));
    // Bytes: the frames the clients received, WebSocket headers included.
    const bytesOf = (clients: CountingClient[]) => clients.reduce((n, c) => n + c.updates.reduce((m, u) => m + framedBytes(u.bytes), 0), 0);
    expect(delta(connected, after, 'wirecam_bytes_sent_total', { encoding: 'json' })).toBe(bytesOf(json));
    expect(delta(connected, after, 'wirecam_bytes_sent_total', { encoding: 'msgpack' })).toBe(bytesOf(msgpack));
    // Latency: observed once per update and audience group (json, legacy JSON mode with its
    // own frames, and msgpack here), never per client.
    const observed = delta(connected, after, 'wirecam_delivery_latency_ms_count');
    expect(observed).toBeGreaterThanOrEqual(updates);
    expect(observed).toBeLessThanOrEqual(3 * updates);
    expect(after.value('wirecam_delivery_latency_ms_bucket', { le: '+Inf' })).toBe(after.value('wirecam_delivery_latency_ms_count'));
    expect(after.value('wirecam_delivery_latency_ms_sum') / after.value('wirecam_delivery_latency_ms_count')).toBeLessThan(2000);
    expect(after.value('wirecam_cameras')).toBe(60);
    expect(after.value('wirecam_store_readable')).toBe(1);
    // Store ids are queried at most once a second: a scrape may show the previous ones.
    const fresh = await waitFor(async () => {
      const now = await scrape(server.httpUrl);
      return now.value('wirecam_store_newest_id', { table: 'camera_updates' }) === cameras.lastId ? now : undefined;
    }, 'the newest camera row id');
    expect(fresh.value('wirecam_store_newest_id', { table: 'tile_updates' })).toBe(tiles.lastTileId);
    expect(fresh.value('wirecam_store_cursor_lag_rows', { table: 'camera_updates' })).toBe(0);
    expect(fresh.value('wirecam_store_cursor_lag_rows', { table: 'tile_updates' })).toBe(0);
    expect(after.value('wirecam_worker_tasks_completed_total')).toBeGreaterThan(empty.value('wirecam_worker_tasks_completed_total'));
    expect(after.value('wirecam_worker_queue_size')).toBeGreaterThanOrEqual(0);
    expect(after.value('wirecam_worker_task_wait_ms', { quantile: '0.99' })).toBeGreaterThanOrEqual(0);

    // Clients that leave are no longer counted.
    for (const client of msgpack) client.ws.close();
    await waitFor(async () => (await scrape(server.httpUrl)).value('wirecam_clients', { encoding: 'msgpack', role: 'viewer' }) === 0, 'msgpack clients to be gone');
    await stopProcess(server);
  });

  it('counts rejected rows by reason, refused messages by code, producer updates and coalesced states', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    const producer = await connect(server.url, { protocols: ['wirecam.v1.msgpack'], headers: { Authorization: `Bearer ${TOKEN}` } });
    const before = await scrape(server.httpUrl);

    const { lastId } = await writeRowsFromAnotherProcess({
      db,
      rows: [
        { camera: 'main', x: 1, y: 1, zoom: 0 },
        { camera: 'main', x: 1, y: 1, zoom: -2 },
        { camera: 'not a camera!', x: 1, y: 1, zoom: 1 },
        { camera: 'main', x: 'abc', y: 1, zoom: 1 },
        { table: 'tile_updates', x: 1.5, y: 0, brick: 'stone.png' },
        { camera: 'main', x: 5, y: 6, zoom: 2 },
      ],
    });
    // The valid row after the invalid ones still flows.
    await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the valid row');

    viewer.sendJson({ type: 'camera_update', x: 1, y: 2, zoom: 1 }); // no token
    viewer.sendRaw('{not json', false);
    await waitFor(() => viewer.ofType('error').length === 2, 'two errors');

    for (let i = 0; i < 5; i++) producer.sendRaw(Buffer.from(encode({ type: 'camera_update', camera: 'prod', x: i, y: i, zoom: 1 })), true);
    await waitFor(() => producer.ofType('ack').length === 5, 'five acks');

    // 300 states of one camera in one transaction: the stream graph keeps the first and the last.
    const burst = await writeRowsFromAnotherProcess({ db, burst: { camera: 'busy', count: 300, perTransaction: 300 } });
    await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === burst.lastId, 'the last state of the burst');

    const after = await scrape(server.httpUrl);
    expect(delta(before, after, 'wirecam_rows_rejected_total', { reason: 'bad_zoom' })).toBe(2);
    expect(delta(before, after, 'wirecam_rows_rejected_total', { reason: 'bad_camera' })).toBe(1);
    expect(delta(before, after, 'wirecam_rows_rejected_total', { reason: 'non_finite' })).toBe(1);
    expect(delta(before, after, 'wirecam_rows_rejected_total', { reason: 'bad_tile_coordinate' })).toBe(1);
    expect(delta(before, after, 'wirecam_rows_rejected_total', { reason: 'bad_brick' })).toBe(0);
    expect(delta(before, after, 'wirecam_errors_sent_total', { code: 'unauthorized' })).toBe(1);
    expect(delta(before, after, 'wirecam_errors_sent_total', { code: 'bad_message' })).toBe(1);
    expect(delta(before, after, 'wirecam_producer_updates_total', { outcome: 'accepted' })).toBe(5);
    expect(delta(before, after, 'wirecam_producer_updates_total', { outcome: 'refused' })).toBe(0);
    expect(delta(before, after, 'wirecam_updates_stored_total')).toBe(5);
    // 1 valid row + 5 producer updates + 300 burst states were read from the store.
    expect(delta(before, after, 'wirecam_updates_received_total', { kind: 'camera' })).toBe(306);
    const busyDelivered = viewer.cameraUpdates('busy').length;
    expect(busyDelivered).toBeLessThan(300);
    expect(delta(before, after, 'wirecam_updates_coalesced_total')).toBeGreaterThanOrEqual(300 - busyDelivered);
    await stopProcess(server);
  });

  it('reports the store cursor lag: rows written but not yet read', async () => {
    const db = join(tempDir(), 'camera.db');
    // One row per read: a backlog takes a while to catch up with, long enough to scrape it.
    const server = await startServer(['--db', db, '--batch-rows', '1']);
    const client = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
    const rows = 10_000;
    const { lastId } = await writeRowsFromAnotherProcess({ db, burst: { camera: 'lag', cameras: 10, count: rows, perTransaction: rows } });
    const lags: number[] = [];
    for (;;) {
      const now = await scrape(server.httpUrl);
      expect(now.value('wirecam_store_newest_id', { table: 'camera_updates' })).toBe(lastId);
      const lag = now.value('wirecam_store_cursor_lag_rows', { table: 'camera_updates' });
      lags.push(lag);
      if (lag === 0) break;
      // Store ids are queried at most once a second.
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    console.log(`cursor lag while catching up with ${rows} rows, one per read: ${lags.join(', ')}`);
    expect(lags[0]).toBeGreaterThan(0);
    expect(lags[0]).toBeLessThanOrEqual(rows);
    for (let i = 1; i < lags.length; i++) expect(lags[i]).toBeLessThanOrEqual(lags[i - 1]!);
    await client.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the last row');
    await stopProcess(server);
  });

  it('counts slow consumers closed', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--slow-consumer-bytes', '1024', '--slow-consumer-grace-ms', '0']);
    const slow = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    slow.pause();
    // Tiles are never conflated: they pile up in the socket buffer of a client that does not read.
    await writeRowsFromAnotherProcess({ db, burst: { count: 60_000, perTransaction: 5000, tiles: true } });
    await waitFor(async () => (await scrape(server.httpUrl)).value('wirecam_slow_consumers_closed_total') === 1, 'the slow consumer to be counted', 30_000);
    await stopProcess(server);
  });

  it('has every metric the README names', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const monitoring = readme.slice(readme.indexOf('## Monitoring'), readme.indexOf('\n## ', readme.indexOf('## Monitoring') + 1));
    const named = new Set([...monitoring.matchAll(/\bwirecam_[a-z_]*[a-z]\b/g)].map((m) => m[0]).filter((name) => !name.endsWith('_')));
    expect(named.size).toBeGreaterThan(15);
    const server = await startServer(['--db', join(tempDir(), 'camera.db')]);
    const families = (await scrape(server.httpUrl)).families();
    for (const name of named) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      expect(families.has(family) || families.has(name), `README names ${name}`).toBe(true);
    }
    await stopProcess(server);
  });
});

describe('logs', () => {
  it('writes no line per message, even at trace level', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--log-level', 'trace'], { WIRECAM_PRODUCER_TOKEN: TOKEN });
    const clients = [
      await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' }),
      await connect(server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=*' }),
      await connect(server.url, { query: 'camera=*' }),
    ];
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
    const linesBefore = server.stdout.length;
    const { lastId } = await writeRowsFromAnotherProcess({ db, burst: { camera: 'log', cameras: 200, count: 1000, perTransaction: 50 } });
    for (let i = 0; i < 100; i++) producer.sendJson({ type: 'camera_update', camera: 'from-producer', x: i, y: i, zoom: 1 });
    await waitFor(() => producer.ofType('ack').length === 100, '100 acks');
    for (const client of clients) await client.waitForMessage((m) => m.type === 'camera_update' && (m.seq as number) >= lastId, 'the last rows');
    // 1000 rows, 100 producer updates, thousands of messages sent: a handful of lines at most.
    expect(server.stdout.length - linesBefore).toBeLessThan(10);
    // JSON lines (stdout is not a terminal), each with a level and a time.
    for (const entry of server.logs()) expect(entry).toMatchObject({ level: expect.any(Number), time: expect.any(Number), service: 'wirecam' });
    await stopProcess(server);
  });
});
