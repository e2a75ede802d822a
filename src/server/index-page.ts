// The page at GET /: the viewer. Its scripts are served beside it (src/server/assets.ts):
// msgpackr's browser build as a classic script, then the viewer and the client library as
// ES modules. No build step for whoever opens it; no request leaves this server.

/**
 * The viewer page as HTML (UTF-8), naming `wsUrl` (the endpoint other clients connect to)
 * and the server `version`; both are HTML-escaped.
 */
export function indexPage(wsUrl: string, version: string): { contentType: string; body: string } {
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wirecam viewer</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: dark; --bg: #0b0f13; --panel: #141b22; --line: #233039; --text: #d5dde5; --dim: #7d8c99; --accent: #ffb000; }
  * { box-sizing: border-box; }
  html, body { height: 100%; margin: 0; }
  body { background: var(--bg); color: var(--text); font: 14px/1.4 system-ui, sans-serif; display: grid; grid-template-rows: auto 1fr; }
  header { display: flex; align-items: center; gap: 1em; padding: 0.5em 1em; border-bottom: 1px solid var(--line); background: var(--panel); }
  header h1 { font-size: 1.05em; margin: 0; font-weight: 600; }
  header h1 span { color: var(--dim); font-weight: 400; }
  label { color: var(--dim); }
  select { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 0.2em 0.4em; font: inherit; }
  #status { margin-left: auto; padding: 0.15em 0.7em; border-radius: 999px; background: #3a2a10; color: var(--accent); font-size: 0.9em; }
  #status[data-state="open"] { background: #10301d; color: #5ee38f; }
  #status[data-state="closed"] { background: #3a1515; color: #ff7b7b; }
  main { display: grid; grid-template-columns: 1fr 19em; min-height: 0; }
  #view { width: 100%; height: 100%; display: block; min-height: 240px; }
  aside { border-left: 1px solid var(--line); background: var(--panel); padding: 0.8em 1em; overflow: auto; }
  dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 0.35em 0.8em; }
  dt { color: var(--dim); }
  dd { margin: 0; font-family: ui-monospace, monospace; font-size: 0.92em; word-break: break-word; }
  aside p { color: var(--dim); font-size: 0.85em; margin-top: 1.5em; }
  code { font-family: ui-monospace, monospace; }
  @media (max-width: 700px) { main { grid-template-columns: 1fr; grid-template-rows: 60vh auto; } aside { border-left: 0; border-top: 1px solid var(--line); } }
</style>
</head>
<body>
<header>
  <h1>wirecam <span>${escapeHtml(version)}</span></h1>
  <label for="camera">camera</label>
  <select id="camera"></select>
  <span id="status" data-state="connecting">connecting</span>
</header>
<main>
  <canvas id="view" aria-label="camera viewport on the world grid"></canvas>
  <aside>
    <dl>
      <dt>encoding</dt><dd id="encoding">–</dd>
      <dt>server</dt><dd id="server">–</dd>
      <dt>updates</dt><dd id="rate">–</dd>
      <dt>all cameras</dt><dd id="rate-all">–</dd>
      <dt>latency</dt><dd id="latency">–</dd>
      <dt>seq</dt><dd id="seq">–</dd>
      <dt>position</dt><dd id="position">–</dd>
      <dt>target</dt><dd id="target">–</dd>
      <dt>tiles</dt><dd id="tiles">0</dd>
      <dt>connections</dt><dd id="connections">0</dd>
    </dl>
    <p>The filled rectangle is what the camera shows, the dashed one where it is heading.
    Other clients connect to <code>${escapeHtml(wsUrl)}</code> with the subprotocol
    <code>wirecam.v1.msgpack</code> or <code>wirecam.v1.json</code> (or none, for plain JSON);
    health at <a href="/healthz">/healthz</a>.</p>
  </aside>
</main>
<script src="/msgpackr.js"></script>
<script type="module" src="/viewer/viewer.js"></script>
</body>
</html>
`;
  return { contentType: 'text/html; charset=utf-8', body };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
