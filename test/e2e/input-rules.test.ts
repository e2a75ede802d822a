// A real server refuses what docs/protocol.md sections 3 and 5 do not allow, over real sockets:
// a producer's timestamp with a fraction, a brick that is not well-formed text, and query
// strings with a max_hz that is not a decimal number, too many cameras or an empty camera list.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { startServer, stopAllProcesses, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients, type TestClient } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { countRows, queryStore } from '../helpers/store.js';

const TOKEN = 'input-rules-token';
let server: ServerProcess;
let db: string;

beforeAll(async () => {
  db = join(tempDir(), 'camera.db');
  server = await startServer(['--db', db, '--producer-token', TOKEN]);
});
afterEach(() => closeAllClients());
afterAll(async () => {
  await stopAllProcesses();
  removeTempDirs();
});

const producer = (encoding: 'json' | 'msgpack') =>
  connect(server.url, { protocols: [`wirecam.v1.${encoding}`], headers: { Authorization: `Bearer ${TOKEN}` }, query: 'camera=none' });

/** Sends `message`, then a valid update; returns the first answer (error or ack) and the valid update's ack. */
async function answerTo(client: TestClient, encoding: 'json' | 'msgpack', message: Record<string, unknown>) {
  const send = (value: unknown) => (encoding === 'json' ? client.sendJson(value) : client.sendRaw(Buffer.from(encode(value)), true));
  const before = client.messages.length;
  send(message);
  send({ type: 'camera_update', camera: 'after', x: 1, y: 1, zoom: 1, timestamp: 1_795_000_000_000 });
  const answers = () => client.messages.slice(before).filter((m) => m.type === 'error' || m.type === 'ack');
  await client.waitForMessage((m) => client.messages.indexOf(m) >= before && m.type === 'ack', 'the ack of the valid update');
  return answers();
}

describe('a producer over WebSocket', () => {
  it.each([
    ['json', { type: 'camera_update', camera: 'frac', x: 1, y: 2, zoom: 1, timestamp: 1.5 }],
    ['msgpack', { type: 'camera_update', camera: 'frac', x: 1, y: 2, zoom: 1, timestamp: 1_795_000_000_000.5 }],
    ['json', { type: 'tile_update', x: 1, y: 2, brick: 'b', timestamp: 2.25 }],
    ['json', { type: 'tile_update', x: 1, y: 2, brick: '\ud800' }],
    ['json', { type: 'tile_update', x: 1, y: 2, brick: 'wall\udc00' }],
  ] as const)('gets bad_message for a %s %j, and nothing is stored', async (encoding, message) => {
    const client = await producer(encoding);
    const cameras = countRows(db);
    const tiles = countRows(db, 'tile_updates');
    const answers = await answerTo(client, encoding, message);
    expect(answers.map((m) => (m.type === 'error' ? m.code : m.type))).toEqual(['bad_message', 'ack']);
    expect(countRows(db)).toBe(cameras + 1);
    expect(countRows(db, 'tile_updates')).toBe(tiles);
    expect(queryStore(db, "SELECT 1 FROM camera_updates WHERE camera = 'frac'")).toEqual([]);
  });
});

describe('the upgrade request', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`).join(',');
  it.each([
    ['max_hz=0x10', 'max_hz'],
    ['max_hz=1e1', 'max_hz'],
    ['max_hz=%2B5', 'max_hz'],
    [`camera=${ids(257)}`, 'camera'],
    ['camera=', 'camera'],
    ['camera=a,,b', 'camera'],
  ])('refuses ?%s with 400 naming %s', async (text, field) => {
    const refused = await connect(server.url, { protocols: ['wirecam.v1.json'], query: text }).then(
      () => null,
      (error: { status?: number; body?: string }) => error,
    );
    expect(refused?.status).toBe(400);
    expect(refused?.body).toContain(field);
  });

  it('takes 256 cameras and a decimal max_hz', async () => {
    const client = await connect(server.url, { protocols: ['wirecam.v1.json'], query: `camera=${ids(256)}&max_hz=12.5` });
    const hello = await client.waitForMessage((m) => m.type === 'hello', 'hello');
    expect((hello.cameras as string[]).length).toBe(256);
    expect(hello.max_hz).toBe(12.5);
  });
});
