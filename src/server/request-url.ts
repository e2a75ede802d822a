// The target of an HTTP request as a URL. Appended to a fixed origin rather than resolved
// against it: a target such as "//host/x" must stay a path, not become another host, and no
// target may throw.
import type { IncomingMessage } from 'node:http';

const ORIGIN = 'http://wirecam.invalid';

/**
 * The request's target (`request.url`, `/` when absent) as a URL on a fixed origin, for its
 * pathname and searchParams. An unparsable target gives the path `/invalid-request-target`
 * (a 404); never throws.
 */
export function requestUrl(request: IncomingMessage): URL {
  const target = request.url ?? '/';
  try {
    return new URL(`${ORIGIN}${target.startsWith('/') ? target : `/${target}`}`);
  } catch {
    return new URL(`${ORIGIN}/invalid-request-target`);
  }
}
