// A server that refuses the WebSocket upgrade with an HTTP status says why in one line of
// body: the client library hands status and line to the application (`refused`), stays closed
// after a refusal that trying again cannot change (401, 404, …) and tries again after one
// that can (503); `wirecam tail` and `wirecam top` say it and exit with status 1.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { WirecamClient, type Disconnect, type Refused, type StateChange } from '../../src/client/node.js';
import { CLI, startProcess, startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { connect, closeAllClients } from '../helpers/clients.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

afterEach(async () => {
  closeAllClients();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

const VIEWER_TOKEN = 'viewer-secret';

async function serve(args: string[] = []): Promise<ServerProcess> {
  return startServer(['--db', join(tempDir(), 'camera.db'), ...args], { WIRECAM_VIEWER_TOKEN: VIEWER_TOKEN });
}

/** A client that records its events; ended by the test. */
function watch(url: string, token: string) {
  const client = new WirecamClient({ url, token, encoding: 'json', reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
  const refused: Refused[] = [];
  const disconnects: Disconnect[] = [];
  const states: StateChange[] = [];
  client.on('refused', (event) => refused.push(event));
  client.on('disconnect', (event) => disconnects.push(event));
  client.on('state', (event) => states.push(event));
  return { client, refused, disconnects, states };
}

describe('a refused upgrade', () => {
  it('reaches the client library with its status and message, and a 4xx ends the reconnection', async () => {
    const server = await serve();
    const { client, refused, disconnects } = watch(server.url, 'wrong');
    client.connect();
    try {
      await waitFor(() => client.state === 'closed' && disconnects.length > 0, 'the client to give up');
      expect(refused).toEqual([{ status: 401, message: 'unknown token', url: server.url, willReconnect: false }]);
      expect(disconnects).toEqual([{ code: 1006, reason: 'HTTP 401 unknown token', willReconnect: false, refusal: { status: 401, message: 'unknown token' } }]);
      // No further attempt: the server counted one refusal.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(refused).toHaveLength(1);
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/wirecam_upgrades_refused_total\{[^}]*reason="token_unknown"[^}]*\} 1\b/);
    } finally {
      client.close();
    }
    await stopProcess(server);
  });

  it('after a 503 the client tries again, and connects once the server has room', async () => {
    const server = await serve(['--max-clients', '1']);
    const holder = await connect(`${server.url}?token=${VIEWER_TOKEN}`);
    await holder.opened;
    const { client, refused } = watch(server.url, VIEWER_TOKEN);
    client.connect();
    try {
      await waitFor(() => refused.length >= 2, 'two refusals, each tried again');
      expect(refused[0]).toEqual({ status: 503, message: 'client limit reached, try again later', url: server.url, willReconnect: true });
      holder.ws.close();
      await waitFor(() => client.state === 'open', 'the client to connect once there is room', 15_000);
    } finally {
      client.close();
    }
    await stopProcess(server);
  });
});

describe('wirecam tail and top, refused', () => {
  it('tail prints the refusal and exits with status 1 on 401 and 404, instead of reconnecting', async () => {
    const server = await serve();
    for (const [url, env, line] of [
      [server.url, { WIRECAM_TOKEN: 'wrong' }, /^wirecam tail: ws:\/\/127\.0\.0\.1:\d+\/ refused the connection: HTTP 401 unknown token$/],
      [`${server.url}nowhere`, { WIRECAM_TOKEN: VIEWER_TOKEN }, /^wirecam tail: ws:\/\/127\.0\.0\.1:\d+\/nowhere refused the connection: HTTP 404 WebSocket endpoint is \/$/],
    ] as const) {
      const run = startProcess([CLI, 'tail', '--url', url], { env });
      const exited = await Promise.race([run.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
      expect(exited, `tail still running; stderr: ${run.stderr.join(' | ')}`).not.toBeNull();
      expect(exited!.code).toBe(1);
      const stderr = run.stderr.filter((l) => l !== '');
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toMatch(line);
      expect(stderr[0]).not.toContain('wrong');
    }
    await stopProcess(server);
  });

  it('tail tries again after a 503 and says so', async () => {
    const server = await serve(['--max-clients', '1']);
    const holder = await connect(`${server.url}?token=${VIEWER_TOKEN}`);
    await holder.opened;
    const run = startProcess([CLI, 'tail', '--url', server.url], { env: { WIRECAM_TOKEN: VIEWER_TOKEN } });
    await waitFor(() => run.stderr.some((l) => l === 'tail: refused (HTTP 503 client limit reached, try again later), trying again'), 'a note of the 503');
    holder.ws.close();
    await waitFor(() => run.stderr.some((l) => l.startsWith('tail: connected to')), 'tail to connect once there is room', 15_000);
    const { code } = await stopProcess(run, 'SIGINT');
    expect(code).toBe(0);
    await stopProcess(server);
  });

  it('top without a terminal reports the refusal and exits with status 1', async () => {
    const server = await serve();
    const run = startProcess([CLI, 'top', '--url', server.url, '--interval-ms', '500'], { env: { WIRECAM_TOKEN: 'wrong' } });
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stdout.join('\n')).toMatch(/STREAM\s+refused: HTTP 401 unknown token, not trying again/);
    expect(run.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^wirecam top: ws:\/\/127\.0\.0\.1:\d+\/ refused the subscription: HTTP 401 unknown token$/)]);
    await stopProcess(server);
  });
});
