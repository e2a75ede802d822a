// End-to-end load runs: each server under test in its own process, a load generator
// process holding the clients, a producer process recording camera states. Every run is
// bounded in time, talks to 127.0.0.1 only, and ends every process it started by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { get } from 'node:http';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { processTree, treeCpuSeconds, treeCpuSplit, treeRssMiB, treeSyscalls } from './procstat.js';
import type { ProducerSpec } from './load/producer.js';
import { describeError } from '../src/util/describe-error.js';
import { withServiceFlags } from '../src/node-flags.js';

/** What the load generator speaks to each peer. */
type ClientKind = 'wirecam' | 'ws' | 'tcp' | 'nats' | 'socketio';

export const PEERS = ['ws-plain', 'ws-frame-once', 'raw-tcp', 'socketio', 'nats', 'wirecam', 'wirecam-w2'] as const;
export type PeerName = (typeof PEERS)[number];

/**
 * The wirecam peers and their `--workers` count: 'wirecam' is one process, 'wirecam-w2' a
 * primary with two fanout processes (README "Every core"). Same build, same flags otherwise.
 */
export const WIRECAM_WORKERS: Partial<Record<PeerName, number>> = { wirecam: 1, 'wirecam-w2': 2 };

/** Is `peer` wirecam itself (any `--workers` count)? */
export function isWirecam(peer: PeerName): boolean {
  return WIRECAM_WORKERS[peer] !== undefined;
}

export const PEER_TITLES: Record<PeerName, string> = {
  'ws-plain': 'plain ws loop (stringify per client)',
  'ws-frame-once': 'ws, frame built once',
  'raw-tcp': 'raw TCP fanout, no WebSocket',
  socketio: 'Socket.IO 4',
  nats: 'nats-server websocket (Go)',
  wirecam: 'wirecam',
  'wirecam-w2': 'wirecam --workers 2',
};

export interface Scenario {
  id: string;
  title: string;
  clients: number;
  cameras: number;
  /** States per second per camera; 0: as fast as they are taken. */
  rateHz: number;
  warmupS: number;
  windowS: number;
  /** Load generator processes the clients are spread over. */
  loadgens: number;
  /** Extra `wirecam serve` flags. */
  wirecamArgs: string[];
  /** Only connect, settle and measure memory; no producer. */
  idle?: boolean;
}

export interface RunResult {
  peer: PeerName;
  scenario: string;
  clients: number;
  delivered: number;
  perSecond: number;
  cpuSeconds: number;
  cpuUsPerMessage: number;
  p50: number;
  p99: number;
  rssMiB: number;
  /** Idle scenario: the server's RSS before any client connected. */
  rssWithoutClientsMiB?: number;
  finalCorrect: number;
  /** When a client did not end on the final state: the load generator's first such client, e.g. 'client 3 camera main: got 41 want 57'. */
  firstWrong?: string;
  /** Seconds from the producer's end until every client was on the final state; absent when some never were (within FINAL_STATE_WAIT_MS). */
  finalAfterS?: number;
  closedClients: number;
  loadgenCpuSeconds: number;
  published: number;
  /** Deliveries per second offered (clients x cameras x rateHz); absent when published as fast as taken. */
  offeredPerSecond?: number;
  /**
   * Read- and write-family system calls of the server (all its processes and threads) per
   * delivered message in the window, from /proc/PID/io (procstat.treeSyscalls).
   */
  syscallsPerMessage?: { read: number; write: number };
  /** cpuUsPerMessage split into user space and the kernel (/proc/PID/stat utime, stime). */
  cpuSplitUsPerMessage?: { user: number; system: number };
  /** What RunOptions.extra observed, and the messages delivered while it did. */
  extra?: ExtraResult;
  skipped?: string;
}

/** A second window after the measured one, in the same server process, e.g. under strace. */
export interface ExtraWindow {
  /** Its length in seconds; the producer runs this much longer (plus a margin for attaching). */
  seconds: number;
  /**
   * Observes the server (`serverPid`; `delivered()` resolves with the messages the clients
   * received since the measured window opened) for about `seconds` and resolves with what it saw
   * and the messages delivered while it watched.
   */
  observe(context: { serverPid: number; seconds: number; delivered(): Promise<number> }): Promise<{ delivered: number; observed: unknown }>;
}

/** RunResult.extra: what the extra window observed. */
export interface ExtraResult {
  delivered: number;
  observed: unknown;
}

const root = fileURLToPath(new URL('../', import.meta.url)); // dist/
/**
 * The wirecam build a run starts unless told otherwise: this checkout's `dist/src/cli.js`, or
 * WIRECAM_BENCH_CLI (the path of another build's `dist/src/cli.js`).
 */
export const WIRECAM_CLI = process.env.WIRECAM_BENCH_CLI ?? join(root, 'src/cli.js');
const LOADGEN_SOURCE = join(root, '../bench/load/loadgen.c');
const LOADGEN = join(root, 'bench/load/loadgen');
const PRODUCER = join(root, 'bench/load/producer.js');
const PEER_SCRIPTS: Partial<Record<PeerName, string>> = {
  'ws-plain': join(root, 'bench/peers/ws-plain.js'),
  'ws-frame-once': join(root, 'bench/peers/ws-frame-once.js'),
  'raw-tcp': join(root, 'bench/peers/raw-tcp.js'),
  socketio: join(root, 'bench/peers/socketio.js'),
};

const running = new Set<ChildProcess>();
function killAll(): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

interface Proc {
  child: ChildProcess;
  pid: number;
  lines: string[];
  /** Its stderr, line by line. */
  stderr: string[];
  nextLine(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string>;
  exited: Promise<number | null>;
}

function start(command: string, args: string[]): Proc {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  let consumed = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    pid: child.pid!,
    lines,
    stderr,
    exited,
    nextLine(match, timeoutMs, what) {
      const already = lines.slice(consumed).find(match);
      if (already !== undefined) {
        consumed = lines.indexOf(already) + 1;
        return Promise.resolve(already);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${stderr.slice(-3).join(' | ')}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            consumed = lines.indexOf(line) + 1;
            resolve(line);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${what}: process exited (${code}); stderr: ${stderr.slice(-3).join(' | ')}`));
        });
      });
    },
  };
}

/**
 * Ends a process by its PID: `signal` first (SIGTERM lets a server write its profile, and a
 * `--workers` primary stop its fanout processes), then SIGKILL; then SIGKILLs, by PID, any
 * process that was below it and outlived it.
 */
async function stop(proc: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  let below: number[] = [];
  try {
    below = processTree(proc.pid).slice(1);
  } catch {
    // Already gone.
  }
  const kill = (s: NodeJS.Signals) => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      try {
        process.kill(proc.pid, s);
      } catch {
        // Already gone.
      }
    }
  };
  kill(signal);
  const timer = setTimeout(() => kill('SIGKILL'), 5000);
  const code = await proc.exited;
  clearTimeout(timer);
  for (const pid of below) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Ended with its parent, as it should.
    }
  }
  return code;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long after the producer's end every client may take to reach the final state (ms). */
export const FINAL_STATE_WAIT_MS = 30_000;

/** Compiles the C load generator when its binary is missing or older than its source. */
export function buildLoadgen(): string {
  if (!existsSync(LOADGEN) || statSync(LOADGEN).mtimeMs < statSync(LOADGEN_SOURCE).mtimeMs) {
    execFileSync('cc', ['-O2', '-Wall', '-o', LOADGEN, LOADGEN_SOURCE], { stdio: 'inherit' });
  }
  return LOADGEN;
}

/** The nats-server binary, if one is installed where Debian or a manual install puts it. */
export function natsAvailable(): string | null {
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/**
 * Makes sure nats-server is there for the NATS column: when it is missing and this process
 * runs as root with apt-get available, installs Debian's `nats-server` package (after an
 * `apt-get update` if the first attempt fails on stale package lists). apt's output goes to
 * stderr. Never throws: returns the binary, or null and the plain reason the column is missing.
 */
export function ensureNats(): { binary: string | null; reason?: string } {
  const found = natsAvailable();
  if (found) return { binary: found };
  const missing = (why: string) => ({ binary: null, reason: `nats-server is not installed and ${why}: the NATS column is missing (Debian: apt-get install nats-server)` });
  if (process.getuid?.() !== 0) return missing('this bench does not run as root, so it cannot install it');
  if (!existsSync('/usr/bin/apt-get')) return missing('apt-get is not available to install it');
  const apt = (args: string[]) =>
    execFileSync('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  process.stderr.write('bench: nats-server missing; installing it with apt-get\n');
  try {
    try {
      apt(['install', '-y', '--no-install-recommends', 'nats-server']);
    } catch {
      apt(['update']);
      apt(['install', '-y', '--no-install-recommends', 'nats-server']);
    }
  } catch (error) {
    return missing(`apt-get install nats-server failed (${describeError(error)})`);
  }
  const installed = natsAvailable();
  return installed ? { binary: installed } : missing('apt-get installed no nats-server binary where expected');
}

export function socketIoAvailable(): boolean {
  return existsSync(PEER_SCRIPTS.socketio!) && existsSync(join(root, '../node_modules/socket.io'));
}

interface Started {
  server: Proc;
  clientKind: ClientKind;
  clientPort: number;
  producer: Omit<ProducerSpec, 'cameras' | 'rateHz' | 'durationMs'>;
}

/** Which builds a run uses. */
export interface RunOptions {
  /** The `dist/src/cli.js` of the wirecam build to start for the wirecam peers; default WIRECAM_CLI. */
  wirecamCli?: string;
  /** A second window after the measured one (e.g. the server under strace); default none. */
  extra?: ExtraWindow;
}

/** GETs `http://127.0.0.1:port/healthz` and parses its JSON (any status). */
function healthz(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error('/healthz timed out')));
    request.on('error', reject);
  });
}

/**
 * Waits until `/healthz` lists `count` fanout processes, every one 'ready', so that the
 * primary spreads the clients over all of them. Throws after `timeoutMs`.
 */
async function waitForProcesses(port: number, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const health = await healthz(port);
      const processes = (health.processes ?? []) as Array<{ state?: string }>;
      last = JSON.stringify(processes.map((p) => p.state));
      if (processes.length === count && processes.every((p) => p.state === 'ready')) return;
    } catch (error) {
      last = describeError(error);
    }
    if (Date.now() > deadline) throw new Error(`${count} fanout processes were not ready within ${timeoutMs} ms (last: ${last})`);
    await sleep(100);
  }
}

/**
 * WIRECAM_BENCH_NODE_ARGS, split at spaces: extra Node options for the server of every peer
 * that runs on Node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/profiles" or "--perf-basic-prof"
 * (for `perf record`).
 */
function benchNodeArgs(): string[] {
  return (process.env.WIRECAM_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

async function startPeer(peer: PeerName, scenario: Scenario, dir: string, options: RunOptions): Promise<Started> {
  const port = await freePort();
  const workers = WIRECAM_WORKERS[peer];
  if (workers !== undefined) {
    const db = join(dir, `wirecam-${scenario.id}.db`);
    // The service's V8 flags, as every launcher of it passes them (src/node-flags.ts).
    const server = start(process.execPath, [
      ...withServiceFlags(benchNodeArgs()), options.wirecamCli ?? WIRECAM_CLI, 'serve', '--port', String(port), '--db', db, '--log-level', 'warn',
      '--max-clients', '20000', '--max-connections-per-ip', '0', ...(workers > 1 ? ['--workers', String(workers)] : []), ...scenario.wirecamArgs,
    ]);
    await waitForPort(port, 20_000);
    if (workers > 1) {
      try {
        await waitForProcesses(port, workers, 30_000);
      } catch (error) {
        const status = server.child.exitCode !== null || server.child.signalCode !== null ? `the primary exited (${server.child.exitCode ?? server.child.signalCode})` : 'the primary still runs';
        throw new Error(`${describeError(error)}; ${status}; stderr: ${server.stderr.slice(-3).join(' | ') || 'empty'}`);
      }
    }
    return { server, clientKind: 'wirecam', clientPort: port, producer: { mode: 'sqlite', db } };
  }
  if (peer === 'nats') {
    const binary = natsAvailable()!;
    const wsPort = await freePort();
    const config = join(dir, `nats-${scenario.id}.conf`);
    writeFileSync(config, `listen: "127.0.0.1:${port}"\nwebsocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n  compression: false\n}\n`);
    const server = start(binary, ['-c', config]);
    await waitForPort(wsPort, 20_000);
    return { server, clientKind: 'nats', clientPort: wsPort, producer: { mode: 'nats', host: '127.0.0.1', port } };
  }
  const feedPort = await freePort();
  const server = start(process.execPath, [...benchNodeArgs(), PEER_SCRIPTS[peer]!, '--port', String(port), '--feed-port', String(feedPort)]);
  await server.nextLine((l) => l.includes('"listening"'), 20_000, `${peer} to listen`);
  const clientKind: ClientKind = peer === 'raw-tcp' ? 'tcp' : peer === 'socketio' ? 'socketio' : 'ws';
  return { server, clientKind, clientPort: port, producer: { mode: 'feed', host: '127.0.0.1', port: feedPort } };
}

async function command(loadgens: Proc[], line: string, match: (l: string) => boolean): Promise<Array<Record<string, unknown>>> {
  for (const lg of loadgens) lg.child.stdin!.write(`${line}\n`);
  const answers = await Promise.all(loadgens.map((lg) => lg.nextLine(match, 20_000, `loadgen answer to ${line.split(' ')[0]}`)));
  return answers.map((a) => JSON.parse(a) as Record<string, unknown>);
}

/**
 * One peer, one scenario: the figures of the measurement window. Every process it starts
 * (server, load generators, producer) is ended by its PID before it returns or throws.
 * Throws when a process does not start or answer within its bound.
 */
export async function runScenario(peer: PeerName, scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wirecam-bench-'));
  const procs: Proc[] = [];
  try {
    const started = await startPeer(peer, scenario, dir, options);
    procs.push(started.server);
    let rssWithoutClientsMiB: number | undefined;
    if (scenario.idle) {
      await sleep(scenario.warmupS * 1000);
      rssWithoutClientsMiB = treeRssMiB(started.server.pid);
    }
    const perLoadgen = Math.ceil(scenario.clients / scenario.loadgens);
    const loadgens: Proc[] = [];
    const loadgen = buildLoadgen();
    for (let i = 0; i < scenario.loadgens; i++) {
      const clients = Math.min(perLoadgen, scenario.clients - i * perLoadgen);
      const path = started.clientKind === 'socketio' ? '/socket.io/?EIO=4&transport=websocket' : scenario.cameras === 1 ? '/?camera=main' : '/?camera=*';
      const lg = start(loadgen, [started.clientKind, '127.0.0.1', String(started.clientPort), String(clients), path, '1', 'cam.>']);
      procs.push(lg);
      loadgens.push(lg);
    }
    await Promise.all(loadgens.map((lg) => lg.nextLine((l) => l.includes('"ready"'), 120_000, 'clients to connect')));

    if (scenario.idle) {
      await sleep(scenario.warmupS * 1000);
      const [stats] = await command(loadgens, 'report', (l) => l.includes('"messages"'));
      return {
        peer, scenario: scenario.id, clients: scenario.clients, delivered: 0, perSecond: 0, cpuSeconds: 0, cpuUsPerMessage: 0,
        p50: 0, p99: 0, rssMiB: treeRssMiB(started.server.pid), rssWithoutClientsMiB, finalCorrect: 0, closedClients: Number(stats!.closed), loadgenCpuSeconds: 0, published: 0,
      };
    }

    const extraS = options.extra === undefined ? 0 : options.extra.seconds + 3;
    const producerSpec: ProducerSpec = {
      ...started.producer,
      cameras: scenario.cameras,
      rateHz: scenario.rateHz,
      durationMs: (scenario.warmupS + scenario.windowS + extraS) * 1000 + 300,
    };
    const producer = start(process.execPath, [PRODUCER, JSON.stringify(producerSpec)]);
    procs.push(producer);
    await sleep(scenario.warmupS * 1000);
    await command(loadgens, 'reset', (l) => l.includes('"reset"'));
    const cpuBefore = treeCpuSeconds(started.server.pid);
    const splitBefore = treeCpuSplit(started.server.pid);
    const syscallsBefore = treeSyscalls(started.server.pid);
    const lgCpuBefore = loadgens.reduce((sum, lg) => sum + treeCpuSeconds(lg.pid), 0);
    await sleep(scenario.windowS * 1000);
    const reports = await command(loadgens, 'report', (l) => l.includes('"messages"'));
    const cpuUsed = treeCpuSeconds(started.server.pid) - cpuBefore;
    const syscallsAfter = treeSyscalls(started.server.pid);
    const splitAfter = treeCpuSplit(started.server.pid);
    const lgCpu = loadgens.reduce((sum, lg) => sum + treeCpuSeconds(lg.pid), 0) - lgCpuBefore;
    const rss = treeRssMiB(started.server.pid);
    let extra: ExtraResult | undefined;
    if (options.extra !== undefined) {
      const delivered = async () => (await command(loadgens, 'report', (l) => l.includes('"messages"'))).reduce((sum, r) => sum + Number(r.messages), 0);
      extra = await options.extra.observe({ serverPid: started.server.pid, seconds: options.extra.seconds, delivered });
    }
    const producerLine = await producer.nextLine((l) => l.includes('"final"'), 60_000, 'the producer to finish');
    const { final, published } = JSON.parse(producerLine) as { final: Record<string, number>; published: number };

    // Every client must end on every camera's final state: poll until they do, bounded
    // (a server that fell seconds behind the producer, as in a flood, gets time to catch up).
    let finalCorrect = 0;
    let firstWrong: string | undefined;
    const finalFrom = Date.now();
    const deadline = finalFrom + FINAL_STATE_WAIT_MS;
    for (;;) {
      const expected = Object.entries(final).map(([camera, seq]) => `${camera}=${seq}`).join(' ');
      const checks = await command(loadgens, `final ${expected}`, (l) => l.includes('"correct"'));
      finalCorrect = checks.reduce((sum, c) => sum + Number(c.correct), 0);
      firstWrong = checks.map((c) => String(c.firstWrong ?? '')).find((w) => w !== '');
      if (finalCorrect === scenario.clients || Date.now() > deadline) break;
      await sleep(250);
    }
    const finalAfterS = finalCorrect === scenario.clients ? (Date.now() - finalFrom) / 1000 : undefined;
    const delivered = reports.reduce((sum, r) => sum + Number(r.messages), 0);
    const seconds = Math.max(...reports.map((r) => Number(r.seconds)));
    const perMessage = (calls: number) => (delivered > 0 ? calls / delivered : 0);
    return {
      peer,
      scenario: scenario.id,
      clients: scenario.clients,
      delivered,
      perSecond: delivered / seconds,
      cpuSeconds: cpuUsed,
      cpuUsPerMessage: delivered > 0 ? (cpuUsed * 1e6) / delivered : 0,
      p50: Math.max(...reports.map((r) => Number(r.p50))),
      p99: Math.max(...reports.map((r) => Number(r.p99))),
      rssMiB: rss,
      finalCorrect,
      firstWrong: finalCorrect < scenario.clients ? firstWrong : undefined,
      finalAfterS,
      closedClients: reports.reduce((sum, r) => sum + Number(r.closed), 0),
      loadgenCpuSeconds: lgCpu,
      published,
      offeredPerSecond: scenario.rateHz > 0 ? scenario.clients * scenario.cameras * scenario.rateHz : undefined,
      cpuSplitUsPerMessage: { user: perMessage((splitAfter.user - splitBefore.user) * 1e6), system: perMessage((splitAfter.system - splitBefore.system) * 1e6) },
      syscallsPerMessage: { read: perMessage(syscallsAfter.read - syscallsBefore.read), write: perMessage(syscallsAfter.write - syscallsBefore.write) },
      extra,
    };
  } finally {
    const [server, ...others] = procs;
    await Promise.all(others.map((proc) => stop(proc)));
    if (server) await stop(server, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
