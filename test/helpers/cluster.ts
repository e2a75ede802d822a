// The fanout processes of a `--workers` service under test: its /healthz as the tests read it,
// and every fanout process it ever listed ended by its PID after the test, whatever happened.
import type { ServerProcess } from './processes.js';

/** One fanout process as /healthz lists it. */
export interface FanoutProcessEntry {
  slot: number;
  pid: number | null;
  state: string;
  clients: number;
}

/** The fields of a `--workers` service's /healthz that the tests read. */
export interface ClusterHealth {
  status: string;
  clients: number;
  pid: number;
  process_clients: number;
  workers: number;
  restarts: number;
  last_exit?: string;
  fanout: string;
  processes: FanoutProcessEntry[];
}

const seen = new Set<number>();

/** GET /healthz of `server`; remembers each fanout process it lists, for killFanoutProcesses. */
export async function clusterHealth(server: ServerProcess): Promise<ClusterHealth> {
  const response = await fetch(`${server.httpUrl}/healthz`);
  const body = (await response.json()) as ClusterHealth;
  for (const entry of body.processes ?? []) if (entry.pid !== null) seen.add(entry.pid);
  return body;
}

/** SIGKILLs every fanout process clusterHealth has listed (normally already stopped by its primary). */
export function killFanoutProcesses(): void {
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone (the normal case: the primary stopped it).
    }
  }
  seen.clear();
}
