// The package version, read once from package.json (works from sources and from dist/).
import { readFileSync } from 'node:fs';

function findVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const text = readFileSync(new URL(relative, import.meta.url), 'utf8');
      const parsed = JSON.parse(text) as { name?: string; version?: string };
      if (parsed.name === 'wirecam' && parsed.version) return parsed.version;
    } catch {
      // Try the next place: sources and build output sit at different depths.
    }
  }
  return '0.0.0';
}

/** wirecam's version from its package.json; `0.0.0` when the file cannot be found. */
export const VERSION = findVersion();
