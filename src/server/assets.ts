// The viewer's static files: its compiled scripts, the client library they import (with the
// shared helpers of src/util/ it imports), and msgpackr's browser build. Only these files are reachable; every other path stays a 404.
// Paths are relative to this module's place in dist/, so they hold in a clone after
// `npm run build` and in an installed package alike.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file served as is: its Content-Type header and bytes. */
export interface Asset {
  /** Always `text/javascript; charset=utf-8` today. */
  contentType: string;
  body: Buffer;
}

const JAVASCRIPT = 'text/javascript; charset=utf-8';

/** URL folder → folder on disk whose .js files are served under it. */
const SCRIPT_FOLDERS: Record<string, string> = {
  '/viewer/': fileURLToPath(new URL('../viewer/', import.meta.url)),
  '/client/': fileURLToPath(new URL('../client/', import.meta.url)),
};

/** Modules of those folders that must not reach a browser: Node-only entry points. */
const NODE_ONLY = new Set(['/client/node.js']);

/**
 * The shared helpers in src/util/ that the client library imports (and so the browser loads
 * from /util/): only these, the rest of src/util/ is for the service.
 */
const BROWSER_HELPERS = ['backoff.js'];
const HELPER_FOLDER = fileURLToPath(new URL('../util/', import.meta.url));

/** msgpackr's UMD build: a classic script that sets globalThis.msgpackr. */
function msgpackrBrowserBuild(): string {
  // The package's main entry is dist/node.cjs; its browser builds sit beside it.
  return join(dirname(createRequire(import.meta.url).resolve('msgpackr')), 'index.min.js');
}

function listScripts(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [prefix, folder] of Object.entries(SCRIPT_FOLDERS)) {
    let names: string[] = [];
    try {
      names = readdirSync(folder);
    } catch {
      continue; // Not built: those scripts are simply not there.
    }
    for (const name of names) {
      const path = `${prefix}${name}`;
      if (name.endsWith('.js') && !NODE_ONLY.has(path)) files.set(path, join(folder, name));
    }
  }
  for (const name of BROWSER_HELPERS) files.set(`/util/${name}`, join(HELPER_FOLDER, name));
  files.set('/msgpackr.js', msgpackrBrowserBuild());
  return files;
}

/**
 * The viewer's scripts by URL path (see the module comment): listed once at construction,
 * each read from disk at its first request and then kept (a few hundred KB in all).
 */
export class StaticAssets {
  private readonly files = listScripts();
  private readonly cache = new Map<string, Asset>();

  /** The asset at a URL path, or null (a 404; also when the file cannot be read). Never throws. */
  get(pathname: string): Asset | null {
    const cached = this.cache.get(pathname);
    if (cached !== undefined) return cached;
    const file = this.files.get(pathname);
    if (file === undefined) return null;
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      return null;
    }
    const asset = { contentType: JAVASCRIPT, body };
    this.cache.set(pathname, asset);
    return asset;
  }
}
