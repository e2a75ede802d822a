// Several `wirecam serve` nodes sharing one Redis, each with its own store, for the
// scale-out tests; and what the tests compare across them: each client's final states, its
// seqs, the snapshots, and the states Redis holds.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { decodeEnvelope, frameOfEnvelope } from '../../src/bus/redis/envelope.js';
import { REDIS_NAMES } from '../../src/bus/redis/scripts.js';
import { messageOfFrame } from './frames.js';
import { connect, type Message, type TestClient } from './clients.js';
import { startServer, type ServerProcess } from './processes.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait.js';

export const PRODUCER_TOKEN = 'scale-out-producer';

export interface WirecamNode {
  name: string;
  db: string;
  server: ServerProcess;
}

/** A node on its own store; `db` reuses a store (a node started again). */
export async function startNode(name: string, redisUrl: string, options: { db?: string; args?: string[] } = {}): Promise<WirecamNode> {
  const db = options.db ?? join(tempDir(`wirecam-${name}-`), 'camera.db');
  const server = await startServer(['--db', db, '--redis', redisUrl, '--node-id', name, ...(options.args ?? [])], {
    WIRECAM_PRODUCER_TOKEN: PRODUCER_TOKEN,
  });
  return { name, db, server };
}

export function startNodes(names: readonly string[], redisUrl: string, args: string[] = []): Promise<WirecamNode[]> {
  return Promise.all(names.map((name) => startNode(name, redisUrl, { args })));
}

/** Viewers of every camera on a node, one per way of connecting. */
export async function viewersOf(node: WirecamNode): Promise<TestClient[]> {
  return Promise.all([
    connect(node.server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' }),
    connect(node.server.url, { protocols: ['wirecam.v1.msgpack'], query: 'camera=*' }),
    connect(node.server.url, { query: 'camera=*' }), // legacy JSON: no subprotocol
  ]);
}

export function producerOn(node: WirecamNode): Promise<TestClient> {
  return connect(node.server.url, {
    protocols: ['wirecam.v1.json'],
    query: 'camera=none',
    headers: { Authorization: `Bearer ${PRODUCER_TOKEN}` },
  });
}

/** The last camera_update of each camera a client received. */
export function finalStates(client: TestClient): Map<string, Message> {
  const states = new Map<string, Message>();
  for (const message of client.cameraUpdates()) states.set(message.camera as string, message);
  return states;
}

/** Whether every client's latest state of each of these cameras has the expected x. */
export function onStates(clients: readonly TestClient[], expected: Record<string, number>): boolean {
  return clients.every((client) => {
    const finals = finalStates(client);
    return Object.entries(expected).every(([camera, x]) => finals.get(camera)?.x === x);
  });
}

/** Cameras whose seqs did not strictly increase at this client (docs/protocol.md 6.1). */
export function seqViolations(client: TestClient): string[] {
  const last = new Map<string, number>();
  const violations: string[] = [];
  for (const message of client.cameraUpdates()) {
    const camera = message.camera as string;
    const seq = message.seq as number;
    const previous = last.get(camera);
    if (previous !== undefined && seq <= previous) violations.push(`${camera}: ${seq} after ${previous}`);
    last.set(camera, seq);
  }
  const tiles = client.ofType('tile_update').map((m) => m.seq as number);
  for (let i = 1; i < tiles.length; i++) if (tiles[i]! <= tiles[i - 1]!) violations.push(`tiles: ${tiles[i]} after ${tiles[i - 1]}`);
  return violations;
}

/** The latest state of every camera as Redis holds it: what every node must end on. */
export async function redisStates(redisUrl: string): Promise<Map<string, Message>> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    const entries = await redis.hgetallBuffer(REDIS_NAMES.states);
    const states = new Map<string, Message>();
    for (const [camera, envelope] of Object.entries(entries)) {
      states.set(camera, messageOfFrame(frameOfEnvelope(decodeEnvelope(envelope), '').json) as unknown as Message);
    }
    return states;
  } finally {
    redis.disconnect();
  }
}

/** What a new client of this node gets as its snapshot, once it has `cameras` states. */
export async function snapshotOf(node: WirecamNode, cameras: number): Promise<Map<string, Message>> {
  const client = await connect(node.server.url, { protocols: ['wirecam.v1.json'], query: 'camera=*' });
  await waitFor(() => client.cameraUpdates().length >= cameras, `the snapshot of ${node.name} (${cameras} cameras)`);
  const snapshot = finalStates(client);
  client.close();
  return snapshot;
}

/** camera -> "seq x" strings, to compare states in one readable assertion. */
export function summary(states: Map<string, Message>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const camera of [...states.keys()].sort()) {
    const state = states.get(camera)!;
    out[camera] = `#${state.seq} x=${state.x}`;
  }
  return out;
}

export async function healthOf(node: WirecamNode): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${node.server.httpUrl}/healthz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Rows in the node's store it has not read yet (GET /metrics): 0 once it has caught up. */
export async function storeLagOf(node: WirecamNode): Promise<number> {
  const text = await (await fetch(`${node.server.httpUrl}/metrics`)).text();
  let lag = 0;
  for (const match of text.matchAll(/^wirecam_store_cursor_lag_rows\{[^}]*\} (\S+)$/gm)) lag += Number(match[1]);
  return lag;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
