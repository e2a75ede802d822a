// Plain HTTP on the WebSocket port: the page at /, /healthz, /readyz, /metrics, the viewer's scripts, and 404 for anything else.
import { requestUrl } from './request-url.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { healthReport, readinessReport, withService, type HealthSource, type Readiness } from './health.js';
import type { ServiceReport } from './service-link.js';
import { describeError } from '../util/describe-error.js';

/** What the plain HTTP routes serve, read at each request. */
export interface HttpRoutes {
  /** GET /healthz (healthReport). */
  health: HealthSource;
  /** The page served at GET /. */
  indexPage(): { contentType: string; body: string | Buffer };
  /** GET /readyz (readinessReport). */
  readiness(): Readiness;
  /** GET /metrics: Prometheus text format; a rejection is answered with 500 and its description. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The viewer's scripts (src/server/assets.ts): null for a path that is not one. */
  asset?(pathname: string): { contentType: string; body: Buffer } | null;
  /** With --workers N: the service's figures (every process), merged into /healthz. */
  service?(): Promise<ServiceReport | string>;
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(body);
}

/**
 * Answers one plain HTTP request (docs/protocol.md section 8): GET or HEAD only (else 405 with
 * `Allow: GET, HEAD`), `/`, `/healthz`, `/readyz`, `/metrics`, an asset, or 404. Every
 * answer has Content-Length and `Cache-Control: no-store`.
 */
export function handleHttp(routes: HttpRoutes, request: IncomingMessage, response: ServerResponse): void {
  const url = requestUrl(request);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (url.pathname) {
    case '/': {
      const page = routes.indexPage();
      send(response, 200, page.contentType, page.body);
      return;
    }
    case '/healthz': {
      const { httpStatus, body } = healthReport(routes.health, Date.now());
      if (routes.service === undefined) {
        send(response, httpStatus, 'application/json', `${JSON.stringify(body)}\n`);
        return;
      }
      routes.service().then(
        (service) => send(response, httpStatus, 'application/json', `${JSON.stringify(withService(body, service))}\n`),
        (error: unknown) => send(response, httpStatus, 'application/json', `${JSON.stringify(withService(body, describeError(error)))}\n`),
      );
      return;
    }
    case '/readyz': {
      const { httpStatus, body } = readinessReport(routes.readiness());
      send(response, httpStatus, 'application/json', `${JSON.stringify(body)}\n`);
      return;
    }
    case '/metrics':
      routes.metrics().then(
        ({ contentType, body }) => send(response, 200, contentType, body),
        (error: unknown) => send(response, 500, 'text/plain; charset=utf-8', `metrics failed: ${describeError(error)}\n`),
      );
      return;
    default: {
      const asset = routes.asset?.(url.pathname) ?? null;
      if (asset !== null) send(response, 200, asset.contentType, asset.body);
      else send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  }
}
