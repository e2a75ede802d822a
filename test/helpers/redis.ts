// A real redis-server for the scale-out tests: Debian's binary, one instance per test file
// on a free port, nothing written to disk, stopped by its PID. Without the binary the tests
// are skipped with a message, except in CI (WIRECAM_CI), where that is a failure.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { closeAllClients } from './clients.js';
import { startProcess, stopAllProcesses, stopProcess, type Started } from './processes.js';
import { removeTempDirs } from './tmp.js';
import { waitFor } from './wait.js';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export const REDIS_SERVER = CANDIDATES.find((path) => existsSync(path)) ?? null;

/** True when the tests can run; otherwise says how to enable them (and fails in CI). */
export function redisAvailable(what: string): boolean {
  if (REDIS_SERVER !== null) return true;
  if (process.env.WIRECAM_CI) throw new Error(`CI needs redis-server for ${what} (.ci/run installs Debian's redis-server)`);
  console.warn(`SKIPPED ${what}: needs redis-server (apt-get install redis-server; .ci/run installs it)`);
  return false;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  process: Started;
}

/** Starts redis-server on `port` (a free one when not given) and waits until it answers. */
export async function startRedis(port?: number): Promise<RedisServer> {
  if (REDIS_SERVER === null) throw new Error('no redis-server');
  const chosen = port ?? (await freePort());
  const started = startProcess(['--save', '', '--appendonly', 'no', '--port', String(chosen), '--bind', '127.0.0.1'], {
    command: REDIS_SERVER,
  });
  const url = `redis://127.0.0.1:${chosen}`;
  await waitFor(
    async () => {
      if (started.child.exitCode !== null) throw new Error(`redis-server exited: ${started.stdout.concat(started.stderr).join('\n')}`);
      return ping(url);
    },
    `redis-server on port ${chosen}`,
    10_000,
    50,
  );
  return { port: chosen, url, process: started };
}

/** Kills it by its PID, like a crash (SIGKILL) unless told otherwise. */
export async function stopRedis(redis: RedisServer, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await stopProcess(redis.process, signal);
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A connection for a test to look at what the nodes keep in Redis. */
export function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}

/** What `redisPerFile` gives a test file. */
export interface FileRedis {
  /** redis-server is installed (redisAvailable): the file's tests run. */
  readonly available: boolean;
  /** The server's URL (set before the first test). */
  readonly url: string;
  /** A connection for the tests to look at what the nodes keep in Redis. */
  readonly admin: Redis;
}

/**
 * One real Redis for a test file (`what` names the tests, for redisAvailable): started before
 * the first test when redis-server is installed; after each test the clients are closed,
 * `stopTestServers` stops what the test started, and Redis is flushed, so that each test is a
 * deployment of its own; after the last, every process is stopped and the temporary folders
 * are removed. Registers vitest's hooks: call it at the top level of the file.
 */
export function redisPerFile(what: string, stopTestServers: () => Promise<void>): FileRedis {
  const available = redisAvailable(what);
  let server: RedisServer | null = null;
  let admin: Redis | null = null;
  beforeAll(async () => {
    if (!available) return;
    server = await startRedis();
    admin = redisClient(server.url);
  });
  afterEach(async () => {
    closeAllClients();
    await stopTestServers();
    if (admin !== null) await admin.flushall();
  });
  afterAll(async () => {
    admin?.disconnect();
    await stopAllProcesses();
    removeTempDirs();
  });
  return {
    available,
    get url() {
      if (server === null) throw new Error('Redis is not started (redis-server missing, or used outside a test)');
      return server.url;
    },
    get admin() {
      if (admin === null) throw new Error('Redis is not started (redis-server missing, or used outside a test)');
      return admin;
    },
  };
}
