// A TCP proxy between a node and Redis, in its own process (tcp-proxy.mjs), so that a test
// can break the path without FIN or RST: SIGSTOP/SIGCONT by its PID, or a command that stops
// forwarding on the Redis subscriber connections only. Ended by its PID like every process.
import { fileURLToPath } from 'node:url';
import { startProcess, stopProcess, type Started } from './processes.js';
import { waitFor } from './wait.js';

const PROXY = fileURLToPath(new URL('./tcp-proxy.mjs', import.meta.url));

/** What tcp-proxy.mjs can be told on its stdin (described there). */
export type ProxyCommand = 'freeze-subscribers' | 'drop-subscriber-replies' | 'repair';

export interface TcpProxy {
  /** redis:// URL through the proxy. */
  url: string;
  /** The proxy's process: SIGSTOP/SIGCONT and the end go to its PID. */
  process: Started;
  /** Sends a command (see tcp-proxy.mjs) and waits until the proxy has applied it. */
  command(command: ProxyCommand): Promise<void>;
  /** SIGSTOP: every connection through it freezes, open, without FIN or RST. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
}

/** Starts a proxy to 127.0.0.1:`targetPort` on an ephemeral port. */
export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const started = startProcess([PROXY, String(targetPort)]);
  const port = await waitFor(() => {
    if (started.child.exitCode !== null) throw new Error(`tcp proxy exited: ${started.stderr.join('\n')}`);
    const line = started.stdout.find((l) => l.startsWith('{'));
    return line === undefined ? undefined : (JSON.parse(line) as { port: number }).port;
  }, 'the tcp proxy to listen');
  let sent = 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    process: started,
    async command(command) {
      sent++;
      const expected = sent;
      started.child.stdin!.write(`${command}\n`);
      await waitFor(() => started.stdout.filter((l) => l.startsWith('ok ')).length >= expected, `the proxy to apply ${command}`);
    },
    freeze: () => process.kill(started.pid, 'SIGSTOP'),
    thaw: () => process.kill(started.pid, 'SIGCONT'),
  };
}

/** Resumes it if stopped, then ends it by its PID. */
export async function stopProxy(proxy: TcpProxy): Promise<void> {
  try {
    proxy.thaw();
  } catch {
    // Already gone.
  }
  await stopProcess(proxy.process, 'SIGKILL');
}
