// Debian's chromium driven by playwright-core (no browser is ever downloaded). Tests that
// need it skip with the reason when it is missing, and fail instead in CI (WIRECAM_CI).
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function requireChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.WIRECAM_CI) throw new Error(`CI needs ${CHROMIUM} for ${what} (.ci/run installs the chromium package)`);
  console.warn(`SKIPPED ${what}: needs ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
