// How the comparison servers get their updates: the bench producer connects to a TCP port
// and sends one camera_update JSON object per line. (wirecam reads its store instead.)
import { createServer, type Server } from 'node:net';

export function listenForFeed(port: number, onLine: (line: string) => void): Promise<Server> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let partial = '';
    socket.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('latin1');
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        onLine(text.slice(start, end));
        start = end + 1;
      }
      partial = text.slice(start);
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

export function flag(name: string, fallback?: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  return Number(process.argv[index + 1]);
}

export function announce(details: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ listening: true, ...details })}\n`);
}
