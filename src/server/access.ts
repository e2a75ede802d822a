// Who may connect and as what: producer and viewer tokens (from settings and token files),
// the browser origins allowed, and how many connections one address may hold.
import { readTokenFile } from '../token-file.js';
import { TokenSet } from './auth.js';

/** The access settings (README, "Security and operations"); undefined: not set. */
export interface AccessSettings {
  /** --producer-token: tokens that make a connection a producer. */
  producerTokens: readonly string[] | undefined;
  /** --producer-token-file: more producer tokens, one per line (src/token-file.ts). */
  producerTokenFile: string | undefined;
  /** --viewer-token: when any viewer token is set, a connection without a token is refused (401). */
  viewerTokens: readonly string[] | undefined;
  /** --viewer-token-file: more viewer tokens, one per line. */
  viewerTokenFile: string | undefined;
  /** --allowed-origin: browser origins allowed to upgrade (scheme://host[:port]); undefined: any. */
  allowedOrigins: readonly string[] | undefined;
  /** --max-connections-per-ip: open connections (refused ones too) per remote address; 0: no limit. */
  maxConnectionsPerIp: number;
}

/**
 * Who may connect and as what (docs/protocol.md sections 3 and 5): the token sets, the origin
 * allow-list and the count of open connections per address.
 *
 * @throws ConfigError from the constructor when a token file cannot be read or holds no token.
 */
export class AccessPolicy {
  /** Producer tokens (possibly none: then nobody is a producer). */
  readonly producerTokens: TokenSet;
  /** null: anyone may watch. */
  readonly viewerTokens: TokenSet | null;
  private readonly origins: ReadonlySet<string> | null;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly settings: AccessSettings) {
    const fromFile = (file: string | undefined, setting: string) => (file === undefined ? [] : readTokenFile(file, setting));
    this.producerTokens = new TokenSet([...(settings.producerTokens ?? []), ...fromFile(settings.producerTokenFile, 'producer-token-file')]);
    const viewer = [...(settings.viewerTokens ?? []), ...fromFile(settings.viewerTokenFile, 'viewer-token-file')];
    this.viewerTokens = viewer.length > 0 ? new TokenSet(viewer) : null;
    this.origins = settings.allowedOrigins ? new Set(settings.allowedOrigins.map(normalizeOrigin)) : null;
  }

  /**
   * Browsers always send Origin on a WebSocket upgrade; other clients usually do not. With an
   * allow-list, a browser page from anywhere else is refused (cross-site WebSocket hijacking).
   */
  originAllowed(origin: string | undefined): boolean {
    if (this.origins === null || origin === undefined) return true;
    return this.origins.has(normalizeOrigin(origin));
  }

  /** Whether `address` already holds --max-connections-per-ip connections (never with the limit 0). */
  addressAtLimit(address: string): boolean {
    const limit = this.settings.maxConnectionsPerIp;
    return limit > 0 && (this.perAddress.get(address) ?? 0) >= limit;
  }

  /** Counts one more open connection (or refused socket still open) from `address`. */
  connected(address: string): void {
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  /** Counts one fewer; an address with none left is forgotten (the map stays bounded by open sockets). */
  disconnected(address: string): void {
    const count = (this.perAddress.get(address) ?? 0) - 1;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
