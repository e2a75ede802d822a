// The address a `wirecam serve` child process listens on, read from its log line.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Resolves with the port of the `"url":"ws://host:PORT/"` in the first log line that names
 * one on the child's stdout (started with `--port 0` and JSON logs); rejects when the child
 * exits first. The child's stdout must be a pipe.
 */
export function listeningPort(server: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const match = /"url":"wss?:\/\/[^:]+:(\d+)\//.exec(line);
      if (match) resolve(Number(match[1]));
    });
    server.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}
