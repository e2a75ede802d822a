// Debian's chromium driven by playwright-core (no browser is ever downloaded). Tests that
// need it skip with the reason when it is missing, and fail instead in CI (WIRECAM_CI).
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

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

/**
 * Waits until the text of `selector` on `page` equals `expected` (or matches it), then
 * returns it. Page figures are redrawn on the page's own schedule, so a test polls for them
 * with a deadline instead of reading once; on time-out the error shows the last text seen.
 */
export async function expectText(page: Page, selector: string, expected: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await page.locator(selector).textContent();
    if (last !== null && (typeof expected === 'string' ? last === expected : expected.test(last))) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${selector} to show ${String(expected)}; last seen: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
