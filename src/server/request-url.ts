// The target of an HTTP request as a URL. Appended to a fixed origin rather than resolved
// against it: a target such as "//host/x" must stay a path, not become another host, and no
// target may throw.
import type { IncomingMessage } from 'node:http';

const ORIGIN = 'http://wirecam.invalid';

export function requestUrl(request: IncomingMessage): URL {
  const target = request.url ?? '/';
  try {
    return new URL(`${ORIGIN}${target.startsWith('/') ? target : `/${target}`}`);
  } catch {
    return new URL(`${ORIGIN}/invalid-request-target`);
  }
}
