// Who may connect and as what: producer and viewer tokens (from settings and token files),
// the browser origins allowed, and how many connections one address may hold.
import { readTokenFile } from '../token-file.js';
import { TokenSet } from './auth.js';

export interface AccessSettings {
  producerTokens: readonly string[] | undefined;
  producerTokenFile: string | undefined;
  viewerTokens: readonly string[] | undefined;
  viewerTokenFile: string | undefined;
  allowedOrigins: readonly string[] | undefined;
  maxConnectionsPerIp: number;
}

export class AccessPolicy {
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

  addressAtLimit(address: string): boolean {
    const limit = this.settings.maxConnectionsPerIp;
    return limit > 0 && (this.perAddress.get(address) ?? 0) >= limit;
  }

  connected(address: string): void {
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  disconnected(address: string): void {
    const count = (this.perAddress.get(address) ?? 0) - 1;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }
}

function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
