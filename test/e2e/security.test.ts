// Who may publish, who may read, from where, how much, and over what: producer and viewer
// tokens (flag, environment, file; several at once), the origin allow-list, per-address and
// per-producer limits, and TLS with a certificate made at test time.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import WebSocket from 'ws';
import { startServer, startProcess, stopAllProcesses, CLI } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { countRows } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

const update = { type: 'camera_update', camera: 'sec', x: 1, y: 2, zoom: 1 };

async function roleOf(url: string, headers: Record<string, string> = {}, query?: string): Promise<string> {
  const client = await connect(url, { protocols: ['wirecam.v1.json'], headers, query });
  const hello = await client.waitForMessage((m) => m.type === 'hello', 'hello');
  client.close();
  return hello.role as string;
}

describe('producer tokens', () => {
  it('accepts several tokens, from the environment, a flag and a file; refuses others with 401', async () => {
    const dir = tempDir();
    const file = join(dir, 'tokens');
    writeFileSync(file, '# producers\nfrom-file-1\n\n  from-file-2  \n');
    const server = await startServer(['--db', join(dir, 'a.db'), '--producer-token-file', file, '--producer-token', 'from-flag'], {
      WIRECAM_PRODUCER_TOKEN: 'ignored-because-the-flag-wins',
    });
    for (const token of ['from-file-1', 'from-file-2', 'from-flag']) {
      expect(await roleOf(server.url, { Authorization: `Bearer ${token}` })).toBe('producer');
    }
    await expect(connect(server.url, { headers: { Authorization: 'Bearer ignored-because-the-flag-wins' } })).rejects.toMatchObject({ status: 401 });
    await expect(connect(server.url, { query: 'token=from-file' })).rejects.toMatchObject({ status: 401 });

    const envOnly = await startServer(['--db', join(dir, 'b.db')], { WIRECAM_PRODUCER_TOKEN: 'one,two' });
    expect(await roleOf(envOnly.url, {}, 'token=one')).toBe('producer');
    expect(await roleOf(envOnly.url, {}, 'token=two')).toBe('producer');
  });

  it('refuses to start on an unreadable token file, naming it', async () => {
    const missing = join(tempDir(), 'no-such-file');
    const started = startProcess([CLI, 'serve', '--port', '0', '--db', join(tempDir(), 'x.db'), '--producer-token-file', missing]);
    const { code } = await started.exited;
    expect(code).toBe(2);
    expect(started.stderr.filter((l) => l !== '')).toEqual([`wirecam serve: --producer-token-file: cannot read ${missing} (ENOENT) (see wirecam --help)`]);
  });
});

describe('viewer tokens', () => {
  it('closes read access: no token or an unknown one gets 401, a viewer token reads, a producer token publishes', async () => {
    const dir = tempDir();
    const db = join(dir, 'a.db');
    const server = await startServer(['--db', db, '--viewer-token', 'look', '--producer-token', 'write']);
    await expect(connect(server.url)).rejects.toMatchObject({ status: 401 });
    await expect(connect(server.url, { query: 'token=guess' })).rejects.toMatchObject({ status: 401 });
    const viewer = await connect(server.url, { protocols: ['wirecam.v1.json'], query: 'token=look&camera=sec' });
    expect((await viewer.waitForMessage((m) => m.type === 'hello', 'hello')).role).toBe('viewer');
    viewer.sendJson(update);
    expect((await viewer.waitForMessage((m) => m.type === 'error', 'error')).code).toBe('unauthorized');
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: 'Bearer write' } });
    producer.sendJson(update);
    const ack = await producer.waitForMessage((m) => m.type === 'ack', 'ack');
    await viewer.waitForMessage((m) => m.type === 'camera_update' && m.seq === ack.seq, 'the update at the viewer');
  });
});

describe('origin allow-list', () => {
  it('refuses browser upgrades from other origins with 403 (cross-site WebSocket hijacking)', async () => {
    const server = await startServer(['--db', join(tempDir(), 'a.db'), '--allowed-origin', 'https://shell.example', '--allowed-origin', 'http://localhost:3000']);
    await expect(connect(server.url, { headers: { Origin: 'https://evil.example' } })).rejects.toMatchObject({ status: 403 });
    await expect(connect(server.url, { headers: { Origin: 'https://shell.example.evil.example' } })).rejects.toMatchObject({ status: 403 });
    await connect(server.url, { headers: { Origin: 'https://shell.example' } });
    await connect(server.url, { headers: { Origin: 'http://localhost:3000' } });
    // Programs that are not browsers send no Origin: they are not what the list protects against.
    await connect(server.url);
  });
});

describe('limits', () => {
  it('refuses connections from one address beyond the limit with 429, and takes them again when one closes', async () => {
    const server = await startServer(['--db', join(tempDir(), 'a.db'), '--max-connections-per-ip', '3']);
    const first = await connect(server.url);
    await connect(server.url);
    await connect(server.url);
    await expect(connect(server.url)).rejects.toMatchObject({ status: 429 });
    first.close();
    await waitFor(
      () => connect(server.url).then(
        () => true,
        () => false,
      ),
      'a slot to free up',
    );
  });

  it('refuses a producer’s updates beyond its rate with rate_limited, stores only the accepted ones, and cuts off a flood', async () => {
    const dir = tempDir();
    const db = join(dir, 'a.db');
    const server = await startServer(['--db', db, '--producer-token', 'p', '--max-producer-rate', '50']);
    const before = countRows(db);
    const producer = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: 'Bearer p' } });
    // 65 at once: a second's worth (50) is accepted, the rest refused; the tenth refusal closes.
    for (let i = 0; i < 65; i++) producer.sendJson({ ...update, x: i });
    const closed = await producer.waitForClose();
    expect(closed.code).toBe(1008);
    const refused = producer.ofType('error').filter((m) => m.code === 'rate_limited').length;
    expect(refused).toBe(10);
    expect(producer.ofType('error').at(-1)!.code).toBe('too_many_errors');
    // What was accepted is stored even though the connection is gone (its acks had nowhere to go).
    await waitFor(() => countRows(db) - before === 50, 'the 50 accepted updates to be stored');
    expect(producer.ofType('ack').length).toBeLessThanOrEqual(50);
    // A producer within its rate is never refused.
    const polite = await connect(server.url, { protocols: ['wirecam.v1.json'], headers: { Authorization: 'Bearer p' } });
    for (let i = 0; i < 20; i++) {
      polite.sendJson({ ...update, x: i });
      await polite.waitForMessage((m) => m.type === 'ack' && polite.ofType('ack').length === i + 1, `ack ${i + 1}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(polite.ofType('error')).toEqual([]);
  });

  it('cuts off a client that trickles its upgrade request', async () => {
    const server = await startServer(['--db', join(tempDir(), 'a.db'), '--handshake-timeout-ms', '1000']);
    const { connect: tcp } = await import('node:net');
    const socket = tcp({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => undefined); // the server hanging up mid-write is the point
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n';
    let sent = 0;
    const started = Date.now();
    const trickle = setInterval(() => {
      if (sent < request.length && !socket.destroyed) socket.write(request[sent++]!);
    }, 50);
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    clearInterval(trickle);
    const after = Date.now() - started;
    expect(sent).toBeLessThan(request.length);
    expect(after).toBeLessThan(8000);
  });
});

describe('TLS', () => {
  it('serves wss:// and https:// with a certificate made at test time', async () => {
    const dir = tempDir();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
      stdio: 'ignore',
    });
    const server = await startServer(['--db', join(dir, 'a.db'), '--tls-cert', cert, '--tls-key', key, '--demo']);
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const ca = readFileSync(cert);
    // The certificate is checked, not ignored.
    const ws = new WebSocket(server.url, ['wirecam.v1.json'], { ca });
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    await waitFor(() => messages.some((m) => m.type === 'camera_update'), 'a demo update over wss');
    expect(messages[0]!.type).toBe('hello');
    ws.terminate();
    const health = await new Promise<string>((resolve, reject) => {
      httpsGet(`https://127.0.0.1:${server.port}/healthz`, { ca }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(JSON.parse(health)).toMatchObject({ status: 'ok' });
    // Without trusting the certificate, the connection is refused by the client.
    const untrusting = new WebSocket(server.url);
    const error = await new Promise<Error>((resolve) => untrusting.on('error', resolve));
    expect(error.message).toMatch(/self[- ]signed|certificate/i);
  });

  it('refuses to start with only one of --tls-cert and --tls-key', async () => {
    const started = startProcess([CLI, 'serve', '--port', '0', '--db', join(tempDir(), 'x.db'), '--tls-cert', '/nonexistent.pem']);
    const { code } = await started.exited;
    expect(code).toBe(2);
    expect(started.stderr.join('\n')).toContain('--tls-cert and --tls-key go together');
  });
});
