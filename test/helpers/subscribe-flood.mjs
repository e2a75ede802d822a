// A separate OS process that sends one burst of `subscribe` messages on one connection,
// alternating every camera (`*`) and one camera, and reports what came back. Input: one JSON
// object as argv[2]: { url, count }. Frames are counted, not parsed, except errors.
// Prints `open` once connected, sends the burst when a line arrives on stdin (so that the
// caller's measurement does not include this process's start), then prints one JSON line when
// the server closes the connection, or `waitMs` (default 15 s) after the burst:
//   { sent, frames, bytes, errors: { code: n }, close: code | null, ms }
import WebSocket from 'ws';

const { url, count, waitMs = 15_000 } = JSON.parse(process.argv[2]);
const ws = new WebSocket(`${url}?camera=none`, ['wirecam.v1.json']);
const errors = {};
let frames = 0;
let bytes = 0;
let sent = 0;
let started = 0;

function report(close) {
  console.log(JSON.stringify({ sent, frames, bytes, errors, close, ms: Date.now() - started }));
  process.exit(0);
}

ws.on('open', () => {
  console.log('open');
  process.stdin.once('data', () => {
    started = Date.now();
    for (; sent < count; sent++) ws.send(JSON.stringify({ type: 'subscribe', cameras: sent % 2 === 0 ? ['*'] : ['none'] }));
    setTimeout(() => report(null), waitMs);
  });
});
ws.on('message', (data) => {
  frames++;
  bytes += data.length;
  if (data.includes('"type":"error"')) {
    const { code } = JSON.parse(data.toString('utf8'));
    errors[code] = (errors[code] ?? 0) + 1;
  }
});
ws.on('close', (code) => report(code));
ws.on('error', (error) => {
  console.error(String(error));
  process.exit(1);
});
