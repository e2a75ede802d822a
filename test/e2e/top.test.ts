// `wirecam top` in a real pseudo-terminal: it draws the dashboard in place on the alternate
// screen, with figures from /healthz, /metrics and its own subscription, and quits on `q`.
// Without a terminal it prints one plain report; a server without /metrics still gets one.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { CLI, startProcess, startServer, stopAllProcesses, stopProcess } from '../helpers/processes.js';
import { PtyProgram, requirePty, stopAllPtyPrograms } from '../helpers/terminal.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const hasPty = requirePty('the wirecam top terminal test');

afterEach(async () => {
  await stopAllPtyPrograms();
  await stopAllProcesses();
});
afterAll(() => removeTempDirs());

async function busyServer() {
  const db = join(tempDir(), 'camera.db');
  const server = await startServer(['--db', db, '--demo']);
  const side = startProcess([CLI, 'simulate', '--db', db, '--camera', 'side', '--rate', '20', '--duration', '30']);
  return { server, side };
}

describe('wirecam top', () => {
  it.skipIf(!hasPty)('draws a live dashboard in a terminal and quits on q', async () => {
    const { server } = await busyServer();
    const top = new PtyProgram(process.execPath, [CLI, 'top', '--url', server.url, '--interval-ms', '300'], { cols: 100, rows: 30 });
    const rate = (text: string, camera: string) => Number(new RegExp(`^${camera}\\s+([\\d.]+)\\s+\\d+`, 'm').exec(text)?.[1] ?? Number.NaN);
    // The demo camera moves at 60 Hz, the simulated one at 20 Hz (once its process is up:
    // under load that takes a moment, so the rates are waited for rather than read once).
    const screen = await top.waitForScreen(
      (text) => rate(text, 'main') > 30 && rate(text, 'side') > 8 && rate(text, 'side') < 32 && /sent [\d.]+ msg\/s/.test(text) && /server\s+p50/.test(text),
      'the dashboard with both cameras at their rates, and server figures',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'top-screen.txt'), `${screen}\n`);
    expect(top.onAlternateScreen).toBe(true);
    expect(screen).toMatch(new RegExp(`wirecam top  ${server.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(screen).toMatch(/CLIENTS\s+1 connected \(this one included\)\s+json 0 · msgpack 1/);
    expect(screen).toMatch(/LATENCY\s+received\s+p50 [\d.]+ ms\s+p90 [\d.]+ ms\s+p99 [\d.]+ ms/);
    expect(screen).toMatch(/SLOW\s+0 slow consumers closed/);
    expect(screen).toMatch(/STREAM\s+live \(msgpack\)/);
    // Redrawn in place: the same screen, newer figures, no scrolling.
    const seqBefore = Number(/^main\s+[\d.]+\s+(\d+)/m.exec(screen)![1]);
    await top.waitForScreen((text) => Number(/^main\s+[\d.]+\s+(\d+)/m.exec(text)?.[1] ?? 0) > seqBefore + 5, 'a redraw with newer figures');
    expect(top.terminal.buffer.active.baseY).toBe(0);

    top.type('q');
    const { exitCode } = await top.exited;
    expect(exitCode).toBe(0);
    await top.settled();
    expect(top.onAlternateScreen).toBe(false);
    expect(top.output).toContain('\x1b[?25h'); // cursor shown again
    await stopProcess(server);
  });

  it('prints one plain report when stdout is not a terminal', async () => {
    const { server } = await busyServer();
    const run = startProcess([CLI, 'top', '--url', server.url, '--interval-ms', '800']);
    const { code } = await run.exited;
    expect(code, run.stderr.join('\n')).toBe(0);
    const text = run.stdout.join('\n');
    expect(text).not.toMatch(/\x1b/);
    expect(text).toMatch(/^main\s+\d+\.\d\s+\d+/m);
    expect(text).toMatch(/TRAFFIC\s+sent [\d.]+ msg\/s \(json [\d.]+ · msgpack [\d.]+\)/);
    expect(text).toMatch(/measured over 0\.8 s/);
    await stopProcess(server);
  });

  it('shows what it can of a server without /metrics, and says why the rest is missing', async () => {
    const bare: Server = createServer((request, response) => {
      if (request.url === '/healthz') {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ status: 'ok', uptime_s: 3723, clients: 7, cameras: 2, last_update_age_ms: 5, store: 'ok' }));
      } else {
        response.writeHead(404).end('not found\n');
      }
    });
    // No WebSocket there either: the upgrade is dropped unanswered (a refusal with a status would end top with 1).
    bare.on('upgrade', (_request, socket) => socket.destroy());
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const port = (bare.address() as { port: number }).port;
    try {
      const run = startProcess([CLI, 'top', '--url', `ws://127.0.0.1:${port}/`, '--interval-ms', '300']);
      const { code } = await run.exited;
      expect(code, run.stderr.join('\n')).toBe(0);
      const text = run.stdout.join('\n');
      expect(text).toMatch(/up 1h02m\s+store ok/);
      expect(text).toMatch(/CLIENTS\s+7 connected/);
      expect(text).toMatch(/TRAFFIC\s+– \(GET \/metrics: HTTP 404\)/);
      expect(text).toMatch(/SLOW\s+– \(needs \/metrics\)/);
      expect(text).toMatch(/no camera updates yet/);
    } finally {
      bare.close();
    }
  });

  it('fails with one line when nothing answers', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const run = startProcess([CLI, 'top', '--url', `ws://127.0.0.1:${port}/`, '--interval-ms', '200']);
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^wirecam top: cannot reach ws:\/\/127\.0\.0\.1:\d+\/: GET \/healthz: ECONNREFUSED$/)]);
  });
});
