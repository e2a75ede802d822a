// What the server says about itself over HTTP: GET /healthz always, GET /metrics when the
// server has it. Either may fail; the dashboard shows what it got and why it got nothing.
import type { HealthReport } from '../server/health.js';
import { Scrape } from './prometheus.js';
import { describeError } from '../util/describe-error.js';

/**
 * One scrape of the server's HTTP side. `at`: when it began, ms since the epoch. `health`: the
 * /healthz report (also on 503, which still carries one), or null with `healthError` saying why;
 * `metrics`: the parsed /metrics, or null with `metricsError` saying why.
 */
export interface ServerStatus {
  at: number;
  health: HealthReport | null;
  healthError: string | null;
  metrics: Scrape | null;
  metricsError: string | null;
}

/** http(s)://host:port/ of the server whose WebSocket address is `wsUrl`. */
export function httpBase(wsUrl: string): URL {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/';
  url.search = '';
  return url;
}

async function get(base: URL, path: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, text: await response.text() };
}

/** A failed fetch by its network cause's code (ECONNREFUSED, …), which says more than fetch's "fetch failed"; anything else as describeError does. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code !== undefined) return cause.code;
  }
  return describeError(error);
}

/**
 * GET /healthz and GET /metrics of `base` at once, each abandoned after `timeoutMs` ms. Never
 * rejects: every failure (refused, timeout, not JSON, an HTTP status other than 200 for
 * /metrics) is a one-line reason in the result.
 */
export async function fetchStatus(base: URL, timeoutMs: number): Promise<ServerStatus> {
  const status: ServerStatus = { at: Date.now(), health: null, healthError: null, metrics: null, metricsError: null };
  const [health, metrics] = await Promise.allSettled([get(base, '/healthz', timeoutMs), get(base, '/metrics', timeoutMs)]);
  if (health.status === 'fulfilled') {
    try {
      // 503 still carries a report: the store is unreadable, and that is worth showing.
      status.health = JSON.parse(health.value.text) as HealthReport;
    } catch {
      status.healthError = `GET /healthz: HTTP ${health.value.status}, not JSON`;
    }
  } else {
    status.healthError = `GET /healthz: ${describe(health.reason)}`;
  }
  if (metrics.status === 'fulfilled') {
    if (metrics.value.status === 200) status.metrics = Scrape.parse(metrics.value.text);
    else status.metricsError = `GET /metrics: HTTP ${metrics.value.status}`;
  } else {
    status.metricsError = `GET /metrics: ${describe(metrics.reason)}`;
  }
  return status;
}
