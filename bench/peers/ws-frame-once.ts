// Peer: ws with the frame built once per update and the same bytes written to every socket.
import { WebSocketServer } from 'ws';
import type { Socket } from 'node:net';
import { frameMessage } from '../../src/protocol/frame.js';
import { announce, flag, listenForFeed } from './feed.js';

const wss = new WebSocketServer({ host: '127.0.0.1', port: flag('port'), perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('error', () => undefined));
wss.on('listening', async () => {
  await listenForFeed(flag('feed-port'), (line) => {
    const frame = frameMessage(Buffer.from(line, 'latin1'), false);
    for (const client of wss.clients) (client as unknown as { _socket: Socket })._socket.write(frame);
  });
  announce({ peer: 'ws-frame-once' });
});
