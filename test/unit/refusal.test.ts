// The pieces under every refusal, on real sockets: the reply and the lingering close, the
// answers Node's parser errors map to, and the connection cap below the descriptor limit
// with its once-per-episode log line and /healthz state (an injected clock for the window).
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { clientErrorRefusal, writeRefusal } from '../../src/server/refusal.js';
import { ConnectionGuard, connectionBudget, descriptorLimit, descriptorsInUse, DESCRIPTOR_RESERVE, LIMITED_REPORT_MS } from '../../src/server/descriptors.js';
import { createCounters } from '../../src/server/counters.js';
import { waitFor } from '../helpers/wait.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(onConnection: (socket: Socket) => void = () => undefined): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function client(port: number): { socket: Socket; text: () => string; ended: () => boolean; closed: () => boolean } {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  sockets.push(socket);
  let text = '';
  let ended = false;
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('end', () => (ended = true));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  return { socket, text: () => text, ended: () => ended, closed: () => closed };
}

describe('writeRefusal', () => {
  it('answers, ends, and destroys the socket at the deadline when the peer keeps it open and keeps sending', async () => {
    let serverSide: Socket | undefined;
    const { port } = await listen((socket) => {
      serverSide = socket;
      writeRefusal(socket, { status: 400, reason: 'websocket_version', message: 'unsupported version', headers: { 'Sec-WebSocket-Version': '13, 8' } }, 300);
    });
    const peer = client(port);
    await waitFor(() => peer.ended(), 'the reply and the server FIN');
    expect(peer.text()).toBe(
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\nSec-WebSocket-Version: 13, 8\r\n\r\nunsupported version\n',
    );
    const drip = setInterval(() => peer.socket.writable && peer.socket.write('x'), 20);
    try {
      await waitFor(() => serverSide?.destroyed, 'the server side to be destroyed at the deadline', 5000);
      await waitFor(() => peer.closed(), 'the peer to see the connection go', 5000);
    } finally {
      clearInterval(drip);
    }
  });

  it('destroys the socket as soon as the peer closes its side, before the deadline', async () => {
    let serverSide: Socket | undefined;
    const { port } = await listen((socket) => {
      serverSide = socket;
      writeRefusal(socket, { status: 404, reason: 'not_found', message: 'nothing here' }, 60_000);
    });
    const peer = client(port);
    await waitFor(() => peer.ended(), 'the reply');
    peer.socket.end('abcd');
    await waitFor(() => serverSide?.destroyed, 'the server side to be destroyed', 5000);
  });
});

describe('clientErrorRefusal', () => {
  it('answers what Node would, and nothing for errors of the socket itself', () => {
    const error = (code: string) => Object.assign(new Error(code), { code });
    expect(clientErrorRefusal(error('HPE_HEADER_OVERFLOW'))).toMatchObject({ status: 431, reason: 'header_overflow' });
    expect(clientErrorRefusal(error('ERR_HTTP_REQUEST_TIMEOUT'))).toMatchObject({ status: 408, reason: 'timeout' });
    expect(clientErrorRefusal(error('HPE_INVALID_HEADER_TOKEN'))).toMatchObject({ status: 400, reason: 'malformed' });
    expect(clientErrorRefusal(error('ECONNRESET'))).toBeNull();
  });
});

describe('ConnectionGuard', () => {
  it('caps connections below the descriptor limit, and reports drops once per episode and on /healthz', async () => {
    const { server, port } = await listen();
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const counters = createCounters();
    let now = 1_000_000;
    const guard = new ConnectionGuard(server, counters, log, () => now);
    const limit = descriptorLimit();
    const inUse = descriptorsInUse();
    guard.start();
    if (limit === null || inUse === null) {
      console.log('ConnectionGuard: no /proc here, the cap is not set; testing the drop path only');
    } else {
      expect(server.maxConnections).toBeGreaterThan(0);
      expect(server.maxConnections).toBeLessThanOrEqual(limit - DESCRIPTOR_RESERVE);
    }
    expect(connectionBudget(100, 90)).toBe(1);
    expect(connectionBudget(1024, 40)).toBe(1024 - 40 - DESCRIPTOR_RESERVE);
    expect(guard.health()).toEqual({ state: 'ok', detail: null });

    // A cap of one connection: the second and third are dropped by Node.
    server.maxConnections = 1;
    const first = client(port);
    await new Promise((resolve) => first.socket.once('connect', resolve));
    await waitFor(() => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n))), 'the first connection to be accepted');
    const over = [client(port), client(port)];
    await waitFor(() => counters.connectionsDropped === 2, 'two connections to be dropped');
    await waitFor(() => over.every((c) => c.ended() || c.closed()), 'the dropped connections to be closed');
    const health = guard.health();
    expect(health.state).toBe('limited');
    expect(health.detail).toMatch(/descriptor limit reached: 2 connection\(s\) closed unanswered/);
    expect(lines.filter((l) => String(l.msg).startsWith('descriptor limit reached'))).toHaveLength(1);

    now += LIMITED_REPORT_MS;
    expect(guard.health()).toEqual({ state: 'ok', detail: null });
  });
});
