// Plain HTTP on the WebSocket port: the page at /, /healthz, and 404 for anything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { healthReport, type HealthSource } from './health.js';

export interface HttpRoutes {
  health: HealthSource;
  /** The page served at GET /. */
  indexPage(): { contentType: string; body: string | Buffer };
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  response.end(body);
}

export function handleHttp(routes: HttpRoutes, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://wirecam.invalid');
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
      send(response, httpStatus, 'application/json', `${JSON.stringify(body)}\n`);
      return;
    }
    default:
      send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
}
