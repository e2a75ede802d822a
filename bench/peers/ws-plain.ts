// Peer: the broadcast loop most people write first: ws, and JSON.stringify per client.
import { WebSocketServer } from 'ws';
import { announce, flag, listenForFeed } from './feed.js';

const wss = new WebSocketServer({ host: '127.0.0.1', port: flag('port'), perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('error', () => undefined));
wss.on('listening', async () => {
  await listenForFeed(flag('feed-port'), (line) => {
    const update = JSON.parse(line) as unknown;
    for (const client of wss.clients) client.send(JSON.stringify(update));
  });
  announce({ peer: 'ws-plain' });
});
