// Credentials presented on the upgrade request. Tokens are compared in constant time (on
// digests of equal length), against every configured token, so timing reveals nothing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Configured tokens, kept as SHA-256 digests; `matches` compares against every one in
 * constant time. Empty strings and undefined are left out.
 */
export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: ReadonlyArray<string | undefined>) {
    this.digests = tokens.filter((t): t is string => typeof t === 'string' && t !== '').map(digest);
  }

  /** Whether `token` is one of the set; takes the same time whichever matches, or none. */
  matches(token: string): boolean {
    const presented = digest(token);
    let found = false;
    for (const known of this.digests) found = timingSafeEqual(presented, known) || found;
    return found;
  }
}

/** `Authorization: Bearer <token>` first, then the `token` query parameter (browsers). */
export function presentedToken(request: IncomingMessage, query: URLSearchParams): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match) return match[1]!.trim();
  }
  return query.get('token');
}
