// Every answer the server gives to a request or upgrade it will not serve (wirecam's admission,
// ws's handshake checks, Node's HTTP parser and its request deadline) ends the socket after
// the reply, destroys it after a short deadline when the peer does not close, and is counted
// in /metrics by status and reason. Real server processes, raw TCP sockets, the server's
// descriptors counted in /proc/PID/fd; one server runs under a low descriptor limit.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { CLI, startProcess, startServer, stopAllProcesses, stopProcess, type Started } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { startInProcessServer, stopInProcessServers } from '../helpers/in-process.js';
import { scrape } from '../helpers/metrics.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterEach(() => closeAllClients());
afterAll(async () => {
  await stopInProcessServers();
  await stopAllProcesses();
  removeTempDirs();
});

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A WebSocket upgrade request for `path`, with extra header lines. */
function upgradeRequest(path: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const all: Record<string, string> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

/** What the client does once the reply's head has arrived. */
type After =
  | 'four-bytes-then-close' // sends four bytes, then closes its side
  | 'keep-open' // never closes its side (half-open: the server's FIN alone does not end it)
  | 'keep-sending'; // never closes, and sends a byte every 100 ms

interface RawClient {
  socket: Socket;
  /** The reply's status code (0 when the connection ended without one). */
  status: Promise<number>;
  /** The whole reply as received. */
  text: () => string;
  /** Resolves when the socket is fully closed (by either side, or reset). */
  closed: Promise<void>;
  isClosed: () => boolean;
}

function rawClient(port: number, request: string | Buffer, after: After, localAddress?: string): RawClient {
  const socket = tcpConnect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
  let received = '';
  let drip: NodeJS.Timeout | undefined;
  let isClosed = false;
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      clearInterval(drip);
      resolve();
    }),
  );
  const status = new Promise<number>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      const before = received.includes('\r\n\r\n');
      received += chunk.toString('latin1');
      if (before || !received.includes('\r\n\r\n')) return;
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0));
      if (after === 'four-bytes-then-close') socket.end('abcd');
      else if (after === 'keep-sending') drip = setInterval(() => socket.writable && socket.write('x'), 100);
    });
    // Closed unanswered (a connection over the server's cap): the peer's FIN or a reset.
    socket.once('end', () => resolve(0));
    socket.once('close', () => resolve(0));
  });
  socket.write(request);
  return { socket, status, text: () => received, closed, isClosed: () => isClosed };
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Runs `count` clients, `concurrency` at a time, each until its reply has arrived. */
async function refuseMany(count: number, concurrency: number, make: (i: number) => RawClient): Promise<RawClient[]> {
  const all: RawClient[] = [];
  for (let i = 0; i < count; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - i) }, (_, k) => make(i + k));
    all.push(...batch);
    await Promise.all(batch.map((client) => client.status));
  }
  return all;
}

describe('refused connections release their descriptors', () => {
  it('2,000 refusals whose clients send four bytes and close leave the descriptor count at its baseline', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db, '--allowed-origin', 'https://ok.example', '--viewer-token', 'refusals-viewer']);
    await scrape(server.httpUrl);
    const baseline = openDescriptors(server.pid);
    const kinds = [
      { request: upgradeRequest('/nope'), status: 404 },
      { request: upgradeRequest('/?token=refusals-viewer', { Origin: 'https://evil.example' }), status: 403 },
      { request: upgradeRequest('/?token=refusals-viewer', { 'Sec-WebSocket-Protocol': 'mqtt' }), status: 400 },
      { request: upgradeRequest('/'), status: 401 },
      { request: upgradeRequest('/?token=refusals-viewer', { 'Sec-WebSocket-Key': 'short' }), status: 400 },
    ];
    const clients = await refuseMany(2000, 50, (i) => rawClient(server.port, kinds[i % kinds.length]!.request, 'four-bytes-then-close'));
    const statuses = await Promise.all(clients.map((c) => c.status));
    statuses.forEach((status, i) => expect(status).toBe(kinds[i % kinds.length]!.status));
    const peak = openDescriptors(server.pid);
    let now = peak;
    try {
      await waitFor(() => (now = openDescriptors(server.pid)) <= baseline + 10, 'the descriptors to return to the baseline', 20_000, 100);
    } finally {
      console.log(`refusals: descriptors ${baseline} before, ${peak} right after 2,000 refusals, ${now} at the end`);
    }
    await Promise.all(clients.map((c) => c.closed));
  });

  it('ends refused sockets whose clients keep them open, or keep sending, within the deadline', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    await scrape(server.httpUrl);
    const baseline = openDescriptors(server.pid);
    const silent = await refuseMany(50, 50, () => rawClient(server.port, upgradeRequest('/nope'), 'keep-open'));
    const senders = await refuseMany(20, 20, () => rawClient(server.port, upgradeRequest('/', { 'Sec-WebSocket-Version': '7' }), 'keep-sending'));
    const started = Date.now();
    const held = openDescriptors(server.pid);
    // The clients that keep sending see the server's end of the connection go (reset).
    await waitFor(() => senders.every((c) => c.isClosed()), 'the server to end every refused socket that keeps sending', 15_000, 50);
    // The silent ones cannot tell; the server's descriptors can.
    let now = held;
    try {
      await waitFor(() => (now = openDescriptors(server.pid)) <= baseline + 5, 'the server to release the silent refused sockets', 15_000, 50);
    } finally {
      console.log(`refusals: server descriptors ${baseline} before, ${held} with 70 refused sockets held open by their clients, ${now} after ${Date.now() - started} ms`);
    }
    for (const client of silent) client.socket.destroy();
    await stopProcess(server);
  });
});

describe('every refusal is counted by status and reason', () => {
  it('counts wirecam admission, ws handshake, malformed requests, header overflow and the request deadline', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer([
      '--db', db,
      '--allowed-origin', 'https://ok.example',
      '--viewer-token', 'counted-viewer',
      '--handshake-timeout-ms', '1000',
      '--max-clients', '2',
      '--max-connections-per-ip', '1',
    ]);
    const t = '/?token=counted-viewer';
    const cases: Array<{ name: string; request: string; status: number; reason: string }> = [
      { name: 'not the endpoint', request: upgradeRequest('/nope'), status: 404, reason: 'not_found' },
      { name: 'origin not allowed', request: upgradeRequest(t, { Origin: 'https://evil.example' }), status: 403, reason: 'origin' },
      { name: 'unknown subprotocols', request: upgradeRequest(t, { 'Sec-WebSocket-Protocol': 'mqtt' }), status: 400, reason: 'subprotocol' },
      { name: 'bad subscription', request: upgradeRequest(`${t}&max_hz=fast`), status: 400, reason: 'subscription' },
      { name: 'no token', request: upgradeRequest('/'), status: 401, reason: 'token_required' },
      { name: 'unknown token', request: upgradeRequest('/?token=nope'), status: 401, reason: 'token_unknown' },
      { name: 'bad Sec-WebSocket-Key (ws)', request: upgradeRequest(t, { 'Sec-WebSocket-Key': 'short' }), status: 400, reason: 'websocket_key' },
      { name: 'bad Sec-WebSocket-Version (ws)', request: upgradeRequest(t, { 'Sec-WebSocket-Version': '7' }), status: 400, reason: 'websocket_version' },
      { name: 'not GET (ws)', request: upgradeRequest(t, {}, 'POST'), status: 405, reason: 'method' },
      { name: 'not a WebSocket upgrade (ws)', request: upgradeRequest(t, { Upgrade: 'h2c' }), status: 400, reason: 'upgrade_header' },
      { name: 'malformed request (Node)', request: 'GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n', status: 400, reason: 'malformed' },
      { name: 'header overflow (Node)', request: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, reason: 'header_overflow' },
      { name: 'request deadline (Node)', request: 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr', status: 408, reason: 'timeout' },
    ];
    // Each from its own address: refused sockets count against the per-address limit (1).
    const clients = cases.map((c, i) => ({ c, client: rawClient(server.port, c.request, 'keep-sending', `127.0.0.${10 + i}`) }));
    for (const { c, client } of clients) {
      expect(await client.status, `${c.name}: ${client.text().split('\r\n')[0]}`).toBe(c.status);
    }
    // Each of them is ended by the server though the client never closes its side and keeps sending.
    await waitFor(() => clients.every(({ client }) => client.isClosed()), 'every refused socket to be ended', 15_000);

    // Capacity and the per-address limit: one session from 127.0.0.1 and one from 127.0.0.2.
    const session = await connect(`${server.url}?token=counted-viewer`);
    const perAddress = rawClient(server.port, upgradeRequest(t), 'four-bytes-then-close');
    expect(await perAddress.status).toBe(429);
    const second = rawClient(server.port, upgradeRequest(t), 'keep-open', '127.0.0.2');
    expect(await second.status).toBe(101);
    const full = rawClient(server.port, upgradeRequest(t), 'four-bytes-then-close', '127.0.0.3');
    expect(await full.status).toBe(503);
    second.socket.destroy();
    session.close();

    const metrics = await scrape(server.httpUrl);
    const expected = [...cases, { status: 429, reason: 'address_limit' }, { status: 503, reason: 'capacity' }];
    for (const { status, reason } of expected) {
      expect(metrics.find('wirecam_upgrades_refused_total', { status: String(status), reason })?.value, `${status} ${reason}`).toBe(1);
    }
  });
});

describe('the 503 while shutting down', () => {
  it('is answered, counted and ended like every other refusal', async () => {
    const server = await startInProcessServer(['--db', join(tempDir(), 'camera.db')]);
    // A request under way when shutdown begins (an idle connection would simply be closed).
    const request = upgradeRequest('/');
    const client = rawClient(server.address.port, request.slice(0, -2), 'keep-sending');
    await waitFor(() => client.socket.bytesWritten === request.length - 2, 'the request head to be sent');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = server.stop();
    client.socket.write('\r\n');
    expect(await client.status).toBe(503);
    expect(client.text()).toContain('server is shutting down');
    await waitFor(() => client.isClosed(), 'the server to end the refused socket', 15_000);
    expect(server.counters.upgradesRefused['503']).toEqual({ shutting_down: 1 });
    await stopped;
  });
});

/** `wirecam serve` with at most `nofile` open descriptors (the shell's ulimit, then exec). */
async function startLimitedServer(nofile: number, args: string[]): Promise<Started & { port: number; httpUrl: string; url: string }> {
  const started = startProcess(['-c', `ulimit -n ${nofile} && exec "$@"`, 'sh', process.execPath, CLI, 'serve', '--port', '0', ...args], { command: 'sh' });
  const url = await waitFor(() => {
    if (started.child.exitCode !== null) throw new Error(`server exited: ${started.stderr.join('\n')}`);
    const line = started.stdout.find((l) => l.includes('"listening on '));
    return line ? (JSON.parse(line) as { url: string }).url : undefined;
  }, 'the limited server to listen', 20_000);
  const port = Number(new URL(url).port);
  return { ...started, url, port, httpUrl: `http://127.0.0.1:${port}` };
}

describe('under a low descriptor limit', () => {
  it('repeated refusals do not make the server unreachable, and running out of descriptors is logged and on /healthz', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startLimitedServer(100, ['--db', db]);
    const baseline = openDescriptors(server.pid);
    // Three hundred refused clients that keep their sockets open, far more than the limit.
    const held: RawClient[] = [];
    for (let i = 0; i < 300; i += 30) {
      const batch = Array.from({ length: 30 }, () => rawClient(server.port, upgradeRequest('/nope'), 'keep-open'));
      held.push(...batch);
      await Promise.all(batch.map((c) => c.status));
    }
    const statuses = await Promise.all(held.map((c) => c.status));
    const answered = statuses.filter((s) => s === 404).length;
    console.log(`refusals under ulimit -n 100: ${answered} of 300 answered 404, the rest closed unanswered; server descriptors ${baseline} -> ${openDescriptors(server.pid)}`);
    // A normal client still gets in, while the refused clients still hold their sockets.
    let attempts = 0;
    const client = await waitFor(async () => {
      attempts++;
      try {
        return await Promise.race([
          connect(server.url, { protocols: ['wirecam.v1.json'] }),
          new Promise<undefined>((resolve) => setTimeout(resolve, 2000)),
        ]);
      } catch {
        return undefined;
      }
    }, 'a normal client to connect', 30_000, 200);
    await client.waitForMessage((m) => m.type === 'hello', 'hello');
    console.log(`refusals under ulimit -n 100: a normal client connected after ${attempts} attempt(s)`);
    const health = (await (await fetch(`${server.httpUrl}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'degraded', connections: 'limited' });
    expect(String(health.connections_error)).toMatch(/descriptor/);
    const logged = server.stdout.filter((line) => line.includes('descriptor limit'));
    expect(logged.length).toBe(1);
    for (const c of held) c.socket.destroy();
    await stopProcess(server);
  });
});
