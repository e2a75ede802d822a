// Every bad input of docs/protocol.md section 5 gets its documented answer and changes nothing,
// while other clients keep receiving. Refused upgrades get their HTTP status (sections 1-3, 7).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { request } from 'node:http';
import { encode } from '@msgpack/msgpack';
import { startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { countRows } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'errors-token';
let server: ServerProcess;
let db: string;

beforeAll(async () => {
  db = join(tempDir(), 'camera.db');
  server = await startServer(['--db', db, '--producer-token', TOKEN, '--max-message-bytes', '1024']);
});
afterEach(() => closeAllClients());
afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

const producerJson = () => connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: `Bearer ${TOKEN}` } });
const producerMsgpack = () => connect(server.url, { protocols: ['wirecam.v1.msgpack'], headers: { Authorization: `Bearer ${TOKEN}` } });
const mp = (value: unknown) => Buffer.from(encode(value));

type BadInput = { name: string; session: 'json' | 'msgpack'; data: string | Buffer; binary: boolean; code: string };

const BAD_INPUTS: BadInput[] = [
  { name: 'text that is not JSON', session: 'json', data: '{"type":', binary: false, code: 'bad_message' },
  { name: 'bytes that are not MessagePack', session: 'msgpack', data: Buffer.from([0xc1, 0xff, 0x00]), binary: true, code: 'bad_message' },
  { name: 'a binary frame on a JSON session', session: 'json', data: mp({ type: 'heartbeat' }), binary: true, code: 'bad_message' },
  { name: 'a text frame on a MessagePack session', session: 'msgpack', data: '{"type":"heartbeat"}', binary: false, code: 'bad_message' },
  { name: 'a JSON array', session: 'json', data: '[1,2]', binary: false, code: 'bad_message' },
  { name: 'no type', session: 'json', data: '{"x":1}', binary: false, code: 'bad_message' },
  { name: 'an unknown type', session: 'json', data: '{"type":"teleport"}', binary: false, code: 'bad_message' },
  { name: 'a missing number', session: 'json', data: '{"type":"camera_update","x":1,"zoom":1}', binary: false, code: 'bad_message' },
  { name: 'a string for a number', session: 'json', data: '{"type":"camera_update","x":"1","y":1,"zoom":1}', binary: false, code: 'bad_message' },
  { name: 'a NaN (MessagePack)', session: 'msgpack', data: mp({ type: 'camera_update', x: NaN, y: 1, zoom: 1 }), binary: true, code: 'bad_message' },
  { name: 'an Infinity (MessagePack)', session: 'msgpack', data: mp({ type: 'camera_update', x: 1, y: Infinity, zoom: 1 }), binary: true, code: 'bad_message' },
  { name: 'zoom 0', session: 'json', data: '{"type":"camera_update","x":1,"y":1,"zoom":0}', binary: false, code: 'bad_message' },
  { name: 'negative zoom', session: 'msgpack', data: mp({ type: 'camera_update', x: 1, y: 1, zoom: -2 }), binary: true, code: 'bad_message' },
  { name: 'target_zoom 0', session: 'json', data: '{"type":"camera_update","x":1,"y":1,"zoom":1,"target_zoom":0}', binary: false, code: 'bad_message' },
  { name: 'a fractional tile coordinate', session: 'json', data: '{"type":"tile_update","x":1.5,"y":1,"brick":"a"}', binary: false, code: 'bad_message' },
  { name: 'an invalid camera id', session: 'json', data: '{"type":"camera_update","camera":"no spaces","x":1,"y":1,"zoom":1}', binary: false, code: 'bad_camera' },
  { name: 'a subscribe with an invalid camera id', session: 'msgpack', data: mp({ type: 'subscribe', cameras: ['ok', 'not ok!'] }), binary: true, code: 'bad_camera' },
];

describe('bad input', () => {
  it.each(BAD_INPUTS)('answers $name with $code, stores nothing, and others keep receiving', async (input) => {
    const watcher = await connect(server.url, { protocols: ['wirecam.v1.msgpack'] });
    const offender = input.session === 'json' ? await producerJson() : await producerMsgpack();
    const rowsBefore = countRows(db);
    const tilesBefore = countRows(db, 'tile_updates');
    offender.sendRaw(input.data, input.binary);
    const error = await offender.waitForMessage((m) => m.type === 'error', 'an error');
    expect(error.code).toBe(input.code);
    expect(typeof error.message).toBe('string');
    expect((error.message as string).length).toBeLessThan(200);
    // Nothing was stored, the offender is still connected, and the others still receive.
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 1, y: 2, zoom: 1 }] });
    expect(countRows(db)).toBe(rowsBefore + 1);
    expect(countRows(db, 'tile_updates')).toBe(tilesBefore);
    await watcher.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the next row at the watcher');
    await offender.waitForMessage((m) => m.type === 'camera_update' && m.seq === lastId, 'the next row at the offender');
    expect(offender.closed).toBeNull();
  });

  it('sends errors to legacy clients too, as JSON', async () => {
    const legacy = await connect(server.url);
    legacy.sendJson({ type: 'camera_update', x: 1, y: 1, zoom: 1 });
    legacy.sendRaw('not json', false);
    await waitFor(() => legacy.ofType('error').length === 2, 'two errors');
    expect(legacy.ofType('error').map((m) => m.code)).toEqual(['unauthorized', 'bad_message']);
  });

  it('closes with 1008 after too_many_errors at the tenth error within ten seconds', async () => {
    const offender = await connect(server.url, { protocols: ['wirecam.v1.json'] });
    for (let i = 0; i < 9; i++) offender.sendRaw('nope', false);
    await waitFor(() => offender.ofType('error').length === 9, 'nine errors');
    expect(offender.closed).toBeNull();
    offender.sendRaw('nope', false);
    const closed = await offender.waitForClose();
    expect(closed.code).toBe(1008);
    const codes = offender.ofType('error').map((m) => m.code);
    expect(codes.slice(-2)).toEqual(['bad_message', 'too_many_errors']);
    expect(codes.filter((c) => c === 'bad_message')).toHaveLength(10);
  });

  it('closes with 1009 on a message over the size limit', async () => {
    const client = await producerJson();
    const rowsBefore = countRows(db);
    client.sendJson({ type: 'camera_update', x: 1, y: 1, zoom: 1, padding: 'x'.repeat(2000) });
    expect((await client.waitForClose()).code).toBe(1009);
    expect(countRows(db)).toBe(rowsBefore);
  });
});

function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('refused upgrades', () => {
  it('refuses only-unknown subprotocols with 400 naming the supported ones', async () => {
    const refused = await connect(server.url, { protocols: ['graphql-ws', 'mqtt'] }).catch((e: { status: number; body: string }) => e);
    expect(refused).toMatchObject({ status: 400 });
    expect((refused as { body: string }).body).toContain('wirecam.v1.json');
    expect((refused as { body: string }).body).toContain('wirecam.v1.msgpack');
  });

  it('picks the first supported subprotocol in the client’s order', async () => {
    const a = await connect(server.url, { protocols: ['mqtt', 'wirecam.v1.msgpack', 'wirecam.v1.json'] });
    const b = await connect(server.url, { protocols: ['wirecam.v1.json', 'wirecam.v1.msgpack'] });
    expect(a.protocol).toBe('wirecam.v1.msgpack');
    expect(b.protocol).toBe('wirecam.v1.json');
  });

  it('refuses an invalid camera id and a non-numeric max_hz with 400, and clamps max_hz', async () => {
    await expect(connect(server.url, { query: 'camera=a%20b' })).rejects.toMatchObject({ status: 400 });
    await expect(connect(server.url, { query: 'max_hz=fast' })).rejects.toMatchObject({ status: 400 });
    const low = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'max_hz=0.01' });
    const high = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'max_hz=100000' });
    await waitFor(() => low.messages.length && high.messages.length, 'hellos');
    expect(low.messages[0]).toMatchObject({ type: 'hello', max_hz: 1 });
    expect(high.messages[0]).toMatchObject({ type: 'hello', max_hz: 60 });
  });

  it('answers 404 for other paths, upgrades or not', async () => {
    await expect(connect(server.url.replace(/\/$/, '/elsewhere'))).rejects.toMatchObject({ status: 404 });
    expect((await httpGet(`${server.httpUrl}/nothing`)).status).toBe(404);
  });

  it('refuses upgrades beyond the client limit with 503', async () => {
    const small = await startServer(['--db', join(tempDir(), 'small.db'), '--max-clients', '2']);
    const first = await connect(small.url);
    await connect(small.url);
    await expect(connect(small.url)).rejects.toMatchObject({ status: 503 });
    first.close();
    await waitFor(async () => (JSON.parse((await httpGet(`${small.httpUrl}/healthz`)).body) as { clients: number }).clients === 1, 'a slot to free up');
    await connect(small.url);
    await stopProcess(small);
  });
});

describe('HTTP endpoints', () => {
  it('serves /healthz with status, uptime, clients, cameras, last update age and store state', async () => {
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'health', x: 0, y: 0, zoom: 1 }] });
    const clients: TestClient[] = [await connect(server.url), await connect(server.url)];
    const { status, body, headers } = await httpGet(`${server.httpUrl}/healthz`);
    expect(status).toBe(200);
    expect(headers['content-type']).toContain('application/json');
    const health = JSON.parse(body) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', store: 'ok' });
    expect(health.clients).toBeGreaterThanOrEqual(clients.length);
    expect(health.cameras).toBeGreaterThanOrEqual(2);
    expect(typeof health.uptime_s).toBe('number');
    expect(health.last_update_age_ms).toBeGreaterThanOrEqual(0);
  });

  it('serves a page at GET /', async () => {
    const { status, body, headers } = await httpGet(`${server.httpUrl}/`);
    expect(status).toBe(200);
    expect(headers['content-type']).toContain('text/html');
    expect(body).toContain('wirecam');
  });
});

describe('odd request targets', () => {
  it('answers 404 for a target starting with //, upgrade or not, and keeps serving', async () => {
    const { connect: tcp } = await import('node:net');
    const answer = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = tcp({ host: '127.0.0.1', port: server.port }, () => socket.write(request));
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
        setTimeout(() => socket.end(), 500);
      });
    expect(await answer('GET //?x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
    expect(
      await answer('GET //evil.example/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
    ).toMatch(/^HTTP\/1\.1 404/);
    expect((await httpGet(`${server.httpUrl}/healthz`)).status).toBe(200);
  });
});
