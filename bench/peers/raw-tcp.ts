// Peer: the floor. No WebSocket at all: one buffer per update, written to every TCP socket.
import { createServer, type Socket } from 'node:net';
import { announce, flag, listenForFeed } from './feed.js';

const sockets = new Set<Socket>();
const server = createServer((socket) => {
  socket.setNoDelay(true);
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => undefined);
});
server.listen(flag('port'), '127.0.0.1', async () => {
  await listenForFeed(flag('feed-port'), (line) => {
    const bytes = Buffer.from(`${line}\n`, 'latin1');
    for (const socket of sockets) socket.write(bytes);
  });
  announce({ peer: 'raw-tcp' });
});
