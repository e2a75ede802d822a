// The `wirecam top` screen as lines of text: a pure function of what was measured, so that
// the live terminal view and the one-shot report are the same picture, and tests can read it.
import { bucketDelta, histogramQuantile, type Scrape } from './prometheus.js';
import type { ServerStatus } from './server-status.js';
import type { StreamFigures } from './live-stream.js';

/**
 * Everything one dashboard picture is drawn from. `url`: the server's WebSocket address (the
 * title); `now`: ms since the epoch (for ages); `status`: the latest scrape of /healthz and
 * /metrics, null before the first; `stream`: what top's own subscription measured; `width`,
 * `height`: columns and lines of the terminal (Infinity: no limit); `color`: ANSI SGR colours on;
 * `footer`: a last dim line, '' for none.
 */
export interface DashboardInput {
  url: string;
  now: number;
  status: ServerStatus | null;
  /** The scrape before `status`, for rates of counters; null on the first. */
  previous: ServerStatus | null;
  stream: StreamFigures;
  width: number;
  /** Lines available; camera rows beyond it are summarised. Infinity: no limit. */
  height: number;
  color: boolean;
  footer: string;
}

const LATENCY_HISTOGRAM = /latency/;

function style(color: boolean, code: string, text: string): string {
  return color ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function fixed(value: number | null, digits = 1): string {
  return value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

function ms(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(value >= 10 ? 1 : 2).replace(/\.?0+$/, '')} ms`;
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

function bytesRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} MB/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} kB/s`;
  return `${Math.round(perSecond)} B/s`;
}

function joinMap(values: Map<string, number>, format: (n: number) => string): string {
  return [...values.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([key, n]) => `${key || '?'} ${format(n)}`).join(' · ');
}

/** Per-second rates of a counter between two scrapes, by one label (or '' for all). */
function counterRates(now: Scrape, before: Scrape | null, seconds: number, name: string, label?: string): Map<string, number> | null {
  if (!now.has(name)) return null;
  const current = label === undefined ? new Map([['', now.sum(name) ?? 0]]) : now.sumBy(name, label);
  if (before === null || seconds <= 0) return null;
  const old = label === undefined ? new Map([['', before.sum(name) ?? 0]]) : before.sumBy(name, label);
  const rates = new Map<string, number>();
  for (const [key, value] of current) rates.set(key, Math.max(0, value - (old.get(key) ?? 0)) / seconds);
  return rates;
}

/**
 * The `wirecam top` screen as lines (no line breaks inside), each cut to `width` visible
 * characters. Counter rates need `previous`; metrics the server does not export are shown as
 * missing, never as zero. Camera rows beyond `height` are summarised in one line. Never throws.
 */
export function renderDashboard(input: DashboardInput): string[] {
  const { status, previous, stream, color } = input;
  const bold = (text: string) => style(color, '1', text);
  const dim = (text: string) => style(color, '2', text);
  const label = (text: string) => bold(text.padEnd(9));
  const lines: string[] = [];
  const health = status?.health ?? null;

  const title = `${bold('wirecam top')}  ${input.url}`;
  const server = stream.server ?? (status?.metrics?.sumBy('wirecam_info', 'version').keys().next().value as string | undefined) ?? null;
  const facts = [
    server ?? '',
    health ? `up ${duration(health.uptime_s)}` : '',
    health ? `store ${health.store === 'ok' ? style(color, '32', 'ok') : style(color, '31', health.store)}` : '',
  ].filter((x) => x !== '');
  lines.push(`${title}   ${facts.join('   ')}`);
  if (status?.healthError) lines.push(style(color, '31', status.healthError));
  lines.push('');

  const metrics = status?.metrics ?? null;
  const before = previous?.metrics ?? null;
  const seconds = status && previous ? (status.at - previous.at) / 1000 : 0;

  // Clients: the total from /healthz, the split from /metrics when it exists.
  const clientParts: string[] = [];
  if (health) clientParts.push(`${health.clients} connected (this one included)`);
  if (metrics?.has('wirecam_clients')) {
    clientParts.push(joinMap(metrics.sumBy('wirecam_clients', 'encoding'), (n) => String(n)));
    const roles = metrics.sumBy('wirecam_clients', 'role');
    if (roles.size > 0 && !(roles.size === 1 && roles.has(''))) clientParts.push(joinMap(roles, (n) => String(n)));
  }
  lines.push(`${label('CLIENTS')}${clientParts.length > 0 ? clientParts.join('   ') : dim('–')}`);
  // With --workers N: each fanout process, its state and clients (the total is above).
  if (health?.processes !== undefined) {
    const states = health.processes.map((p) => {
      const text = `#${p.slot} ${p.pid ?? '–'} ${p.state} ${p.clients}`;
      return p.state === 'ready' ? text : style(color, '33', text);
    });
    const restarts = health.restarts ? `   restarts ${style(color, '33', String(health.restarts))}` : '';
    lines.push(`${label('PROCS')}${health.processes.length} fanout (slot pid state clients): ${states.join(' · ')}${restarts}`);
  }

  if (metrics !== null) {
    const sent = counterRates(metrics, before, seconds, 'wirecam_messages_sent_total', 'encoding');
    const bytes = counterRates(metrics, before, seconds, 'wirecam_bytes_sent_total');
    const coalesced = counterRates(metrics, before, seconds, 'wirecam_updates_coalesced_total');
    const traffic: string[] = [];
    if (sent !== null) {
      const total = [...sent.values()].reduce((a, b) => a + b, 0);
      traffic.push(`sent ${fixed(total)} msg/s (${joinMap(sent, (n) => fixed(n))})`);
    } else if (metrics.has('wirecam_messages_sent_total')) {
      traffic.push(`sent ${metrics.sum('wirecam_messages_sent_total')} msgs`);
    }
    if (bytes !== null) traffic.push(bytesRate(bytes.get('') ?? 0));
    if (coalesced !== null) traffic.push(`coalesced ${fixed(coalesced.get('') ?? 0)}/s`);
    lines.push(`${label('TRAFFIC')}${traffic.length > 0 ? traffic.join('   ') : dim('measuring…')}`);
    const slow = metrics.sum('wirecam_slow_consumers_closed_total');
    const slowText = slow === null ? dim('– (not exported)') : slow > 0 ? style(color, '33', String(slow)) : '0';
    lines.push(`${label('SLOW')}${slowText} slow consumers closed since start`);
  } else {
    lines.push(`${label('TRAFFIC')}${dim(`– (${status?.metricsError ?? 'waiting for /metrics'})`)}`);
    lines.push(`${label('SLOW')}${dim('– (needs /metrics)')}`);
  }

  const l = stream.latency;
  lines.push(
    `${label('LATENCY')}${'received'.padEnd(9)}p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}  ${dim(`(${l.samples} updates, 5 s)`)}`,
  );
  const histogram = metrics?.findHistogram(LATENCY_HISTOGRAM) ?? null;
  if (metrics !== null && histogram !== null) {
    const nowBuckets = metrics.buckets(histogram);
    const delta = before === null ? nowBuckets : bucketDelta(nowBuckets, before.buckets(histogram));
    const window = before === null ? 'since start' : 'last interval';
    lines.push(
      `${' '.repeat(9)}${'server'.padEnd(9)}p50 ${ms(histogramQuantile(0.5, delta))}  p90 ${ms(histogramQuantile(0.9, delta))}  p99 ${ms(histogramQuantile(0.99, delta))}  ${dim(`(${histogram}, ${window})`)}`,
    );
  }

  const refusal = stream.state !== 'open' ? (stream.refusal ?? null) : null;
  const stateText =
    stream.state === 'open'
      ? style(color, '32', `live (${stream.encoding ?? '?'})`)
      : refusal !== null
        ? style(color, '31', `refused: HTTP ${refusal.status}${refusal.message === '' ? '' : ` ${refusal.message}`}${refusal.willReconnect ? ', trying again' : ', not trying again'}`)
        : style(color, '33', stream.state);
  lines.push(
    `${label('STREAM')}${stateText}  ${fixed(stream.totalRate)} updates/s over ${stream.cameras.length} camera(s), tiles ${fixed(stream.tileRate)}/s` +
      (stream.maxHz !== null ? dim(`  (≤ ${stream.maxHz} Hz per camera)`) : '') +
      (stream.reconnections > 0 ? `  reconnected ${stream.reconnections}×` : ''),
  );
  lines.push('');

  lines.push(bold(`${'CAMERA'.padEnd(28)}${'UPDATES/S'.padStart(10)}${'LAST SEQ'.padStart(14)}${'AGE'.padStart(10)}`));
  const footerLines = input.footer === '' ? 0 : 2;
  // At least one camera and the line that says how many more there are.
  const room = Number.isFinite(input.height) ? Math.max(2, input.height - lines.length - footerLines) : Infinity;
  const shown = stream.cameras.length > room ? stream.cameras.slice(0, room - 1) : stream.cameras;
  for (const camera of shown) {
    const age = ms(input.now - camera.lastAt);
    lines.push(`${camera.camera.slice(0, 27).padEnd(28)}${fixed(camera.rate).padStart(10)}${String(camera.lastSeq).padStart(14)}${age.padStart(10)}`);
  }
  if (shown.length < stream.cameras.length) lines.push(dim(`… ${stream.cameras.length - shown.length} more camera(s)`));
  if (stream.cameras.length === 0) lines.push(dim('no camera updates yet'));
  if (input.footer !== '') {
    lines.push('');
    lines.push(dim(input.footer));
  }
  return lines.map((line) => clip(line, input.width));
}

/** Cuts a line to `width` visible characters, keeping colour codes intact. */
export function clip(line: string, width: number): string {
  if (!Number.isFinite(width)) return line;
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end !== -1) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}
