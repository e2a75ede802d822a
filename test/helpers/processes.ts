// Every process a test starts goes through here, so each is ended by its PID, on failure too.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

const running = new Set<ChildProcess>();

function killEverything(signal: NodeJS.Signals): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, signal);
      } catch {
        // Already gone.
      }
    }
  }
}
process.on('exit', () => killEverything('SIGKILL'));

export interface Started {
  child: ChildProcess;
  pid: number;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `uid`/`gid`: run as another user (the test must be root), e.g. to meet permissions root ignores. */
export function startProcess(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; command?: string; uid?: number; gid?: number } = {}): Started {
  const child = spawn(options.command ?? process.execPath, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (into: string[]) => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop()!;
      into.push(...lines);
    };
  };
  child.stdout!.on('data', collect(stdout));
  child.stderr!.on('data', collect(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      // Let the last output arrive before anyone reads it.
      setImmediate(() => resolve({ code, signal }));
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${args.join(' ')}`);
  return { child, pid: child.pid, stdout, stderr, exited };
}

/** Ends a process by its PID: the given signal, then SIGKILL if it does not exit in time. */
export async function stopProcess(started: Started, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
  if (started.child.exitCode === null && started.child.signalCode === null) {
    try {
      process.kill(started.pid, signal);
    } catch {
      // Already gone.
    }
  }
  const timer = setTimeout(() => {
    try {
      process.kill(started.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, graceMs);
  const result = await started.exited;
  clearTimeout(timer);
  return result;
}

export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((child) => {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    killEverything('SIGKILL');
    return exited;
  }));
}

export interface ServerProcess extends Started {
  url: string;
  port: number;
  httpUrl: string;
  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>>;
}

/** Starts `wirecam serve` on an ephemeral port and waits until it listens. */
export async function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const started = startProcess([CLI, 'serve', '--port', '0', ...args], { env });
  const logs = () =>
    started.stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  let early: { code: number | null } | null = null;
  void started.exited.then((r) => (early = r));
  const url = await waitFor(
    () => {
      if (early) throw new Error(`server exited (${early.code}): ${started.stderr.join('\n')}`);
      const line = logs().find((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('listening on '));
      return line ? (line.url as string) : undefined;
    },
    'the server to listen',
    20_000,
  );
  const port = Number(new URL(url).port);
  return { ...started, url, port, httpUrl: `http://127.0.0.1:${port}`, logs };
}

/** Runs one `wirecam` command to its end (bounded); its output split into lines. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const started = startProcess([CLI, ...args], { env });
  const result = await Promise.race([
    started.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`wirecam ${args.join(' ')} did not exit`)), 15_000)),
  ]).finally(() => stopProcess(started, 'SIGKILL', 1));
  return { ...result, stdout: started.stdout.filter((l) => l !== ''), stderr: started.stderr.filter((l) => l !== '') };
}

/** GET /healthz of a server process: the status code and the JSON body. */
export async function health(server: ServerProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.httpUrl}/healthz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Whether a process with this PID exists (signal 0: nothing is sent). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
