// `wirecam top`: a live dashboard of a running server, redrawn in place on a terminal until
// `q`; without a terminal (a pipe, a file, cron), one report after one interval, then exit.
import { resolveConfig, TOP_SETTINGS } from '../config.js';
import { parseWebSocketUrl } from './server-url.js';
import { fetchStatus, httpBase, type ServerStatus } from '../top/server-status.js';
import { LiveStream } from '../top/live-stream.js';
import { renderDashboard } from '../top/dashboard.js';

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l'; // alternate screen, cursor hidden
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

/**
 * `wirecam top [flags]` (TOP_SETTINGS). On a terminal (stdout and stdin): a dashboard redrawn
 * every `--interval-ms` on the alternate screen until q, Ctrl-C, Ctrl-D, Escape or a signal;
 * otherwise one report measured over one interval. Throws ConfigError for bad flags, and Error
 * (one line) when the one-shot report can reach neither /healthz nor the WebSocket, or, after
 * printing the report, when the server refused the WebSocket upgrade (status and message).
 */
export async function top(argv: readonly string[]): Promise<void> {
  const { config } = resolveConfig(TOP_SETTINGS, { argv, env: process.env });
  const url = parseWebSocketUrl(config.url);
  const base = httpBase(url);
  const intervalMs = config['interval-ms'];
  const stream = new LiveStream(url, config.token);
  stream.start();
  try {
    if (process.stdout.isTTY && process.stdin.isTTY) await live(url, base, intervalMs, stream);
    else await oneShot(url, base, intervalMs, stream);
  } finally {
    stream.stop();
  }
}

/** One plain report: two scrapes one interval apart (rates need two), measured in between. */
async function oneShot(url: string, base: URL, intervalMs: number, stream: LiveStream): Promise<void> {
  const first = await fetchStatus(base, intervalMs);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
  const second = await fetchStatus(base, intervalMs);
  const figures = stream.figures(Date.now());
  if (second.health === null && figures.state !== 'open') {
    throw new Error(`cannot reach ${url}: ${second.healthError ?? 'no answer'}`);
  }
  const lines = renderDashboard({
    url, now: Date.now(), status: second, previous: first, stream: figures, width: Infinity, height: Infinity, color: false,
    footer: `measured over ${(intervalMs / 1000).toFixed(1)} s`,
  });
  process.stdout.write(`${lines.join('\n')}\n`);
  // The report says it too; the status says it to a script.
  const refusal = figures.state === 'open' ? null : (figures.refusal ?? null);
  if (refusal !== null) throw new Error(`${refusal.url} refused the subscription: HTTP ${refusal.status}${refusal.message === '' ? '' : ` ${refusal.message}`}`);
}

async function live(url: string, base: URL, intervalMs: number, stream: LiveStream): Promise<void> {
  const out = process.stdout;
  const stdin = process.stdin;
  let status: ServerStatus | null = null;
  let previous: ServerStatus | null = null;
  let fetching = false;
  const draw = () => {
    const lines = renderDashboard({
      url, now: Date.now(), status, previous, stream: stream.figures(Date.now()),
      width: out.columns || 80, height: out.rows || 24, color: true,
      footer: `q: quit   refresh ${(intervalMs / 1000).toFixed(1)} s`,
    });
    out.write(HOME + lines.map((line) => line + CLEAR_LINE_END).join('\r\n') + CLEAR_BELOW);
  };
  const refresh = () => {
    if (fetching) return;
    fetching = true;
    fetchStatus(base, intervalMs).then((next) => {
      previous = status;
      status = next;
      fetching = false;
      draw();
    }, () => (fetching = false));
  };

  out.write(ENTER_SCREEN);
  stdin.setRawMode(true);
  stdin.resume();
  draw();
  refresh();
  const timer = setInterval(refresh, intervalMs);
  out.on('resize', draw);
  try {
    await new Promise<void>((resolve) => {
      const quit = () => resolve();
      stdin.on('data', (data: Buffer) => {
        const key = data.toString('utf8');
        // q, Q, Ctrl-C, Ctrl-D, Escape.
        if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04' || key === '\x1b') quit();
      });
      process.once('SIGINT', quit);
      process.once('SIGTERM', quit);
      process.once('SIGHUP', quit);
    });
  } finally {
    clearInterval(timer);
    out.off('resize', draw);
    stdin.setRawMode(false);
    stdin.pause();
    out.write(LEAVE_SCREEN);
  }
}
