// A TCP proxy between a wirecam node and Redis, run as its own process so that a test can
// break the path the way a network does: without FIN or RST. SIGSTOP/SIGCONT (by its PID)
// freezes and resumes every connection at once; the commands below break only the Redis
// subscriber connections (those that sent a SUBSCRIBE or PSUBSCRIBE).
//
// Usage: node tcp-proxy.mjs TARGET_PORT. Listens on an ephemeral 127.0.0.1 port and prints
// {"port":N}. Commands, one per line on stdin, each answered with "ok COMMAND" on stdout:
//   freeze-subscribers       the subscriber connections open now forward nothing more, either
//                            way, and stay open; new connections work
//   drop-subscriber-replies  from now on, every subscriber connection (open or new) gets
//                            nothing from Redis, while what it sends still reaches Redis
//   repair                   ends drop-subscriber-replies
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const targetPort = Number(process.argv[2]);
if (!Number.isInteger(targetPort) || targetPort <= 0) {
  process.stderr.write('usage: node tcp-proxy.mjs TARGET_PORT\n');
  process.exit(2);
}

/** @type {Set<{ subscriber: boolean, frozen: boolean }>} */
const connections = new Set();
let dropSubscriberReplies = false;

const server = createServer((client) => {
  const connection = { subscriber: false, frozen: false };
  connections.add(connection);
  const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
  client.on('data', (chunk) => {
    if (/subscribe/i.test(chunk.toString('latin1'))) connection.subscriber = true;
    if (!connection.frozen) upstream.write(chunk);
  });
  upstream.on('data', (chunk) => {
    if (connection.frozen || (dropSubscriberReplies && connection.subscriber)) return;
    client.write(chunk);
  });
  const end = () => {
    connections.delete(connection);
    client.destroy();
    upstream.destroy();
  };
  client.on('close', end);
  // A frozen path tells the client nothing, not even that Redis went away.
  upstream.on('close', () => {
    if (!connection.frozen) end();
  });
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'freeze-subscribers') {
    for (const connection of connections) if (connection.subscriber) connection.frozen = true;
  } else if (command === 'drop-subscriber-replies') {
    dropSubscriberReplies = true;
  } else if (command === 'repair') {
    dropSubscriberReplies = false;
  } else {
    process.stdout.write(`unknown command ${JSON.stringify(command)}\n`);
    return;
  }
  process.stdout.write(`ok ${command}\n`);
});
