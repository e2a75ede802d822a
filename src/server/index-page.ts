// The page at GET /: how to connect, for someone who opens the address in a browser.
export function indexPage(wsUrl: string, version: string): { contentType: string; body: string } {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wirecam</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto">
<h1>wirecam ${version}</h1>
<p>Camera states are broadcast over WebSocket at <code>${wsUrl}</code>.</p>
<ul>
<li>No subprotocol: JSON text frames (legacy Geometry OS clients).</li>
<li><code>wirecam.v1.json</code>: JSON, with a <code>hello</code> first.</li>
<li><code>wirecam.v1.msgpack</code>: MessagePack binary frames, with a <code>hello</code> first.</li>
</ul>
<p>Query parameters: <code>camera</code> (comma-separated ids, or <code>*</code>), <code>max_hz</code>, <code>token</code>.
Health: <a href="/healthz">/healthz</a>.</p>
</body></html>
`;
  return { contentType: 'text/html; charset=utf-8', body };
}
