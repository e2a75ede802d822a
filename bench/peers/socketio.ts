// Peer: Socket.IO 4 over WebSocket only, one emit to everyone per update.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { announce, flag, listenForFeed } from './feed.js';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
http.listen(flag('port'), '127.0.0.1', async () => {
  await listenForFeed(flag('feed-port'), (line) => {
    io.emit('camera_update', JSON.parse(line));
  });
  announce({ peer: 'socketio' });
});
