// The viewer page in a real browser (Debian's chromium): it loads with its scripts from the
// server, decodes MessagePack with msgpackr's browser build (JSON when that is missing),
// draws the camera where the store says it is, and reconnects after a server restart.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, stopAllProcesses, stopProcess, type ServerProcess } from '../helpers/processes.js';
import { writeRowsFromAnotherProcess } from '../helpers/rows.js';
import { expectText, launchChromium, requireChromium } from '../helpers/browser.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const hasChromium = requireChromium('the viewer page browser test');

let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (hasChromium) browser = await launchChromium();
});
afterEach(() => stopAllProcesses());
afterAll(async () => {
  await browser?.close();
  removeTempDirs();
});

async function openViewer(server: ServerProcess, query = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${server.httpUrl}/${query}`);
  return page;
}

function dataset(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => ({ ...document.getElementById('view')!.dataset }) as Record<string, string>);
}

describe.skipIf(!hasChromium)('the viewer page', () => {
  it('serves its scripts with JavaScript content types, and nothing else', async () => {
    const server = await startServer(['--db', join(tempDir(), 'a.db')]);
    for (const path of ['/msgpackr.js', '/viewer/viewer.js', '/viewer/scene.js', '/client/index.js', '/client/wirecam-client.js']) {
      const response = await fetch(`${server.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe('text/javascript; charset=utf-8');
    }
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // Node-only modules, source maps, folders and other files stay out of reach.
    for (const path of ['/client/node.js', '/client/index.js.map', '/client/', '/viewer/../server/server.js', '/package.json', '/client.js']) {
      expect((await fetch(`${server.httpUrl}${path}`)).status, path).toBe(404);
    }
    await stopProcess(server);
  });

  it('draws the camera where rows written by another process put it', async () => {
    const db = join(tempDir(), 'camera.db');
    const server = await startServer(['--db', db]);
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 0, y: 0, zoom: 1 }] });
    const page = await openViewer(server);
    await waitFor(async () => (await dataset(page)).state === 'open', 'the page to connect');
    expect((await dataset(page)).encoding).toBe('msgpack');

    const { lastId } = await writeRowsFromAnotherProcess({
      db,
      rows: [{ camera: 'main', x: 300, y: -150, zoom: 2, target_x: 340, target_y: -150, target_zoom: 2 }],
    });
    // It glides to the state, then on toward the target, and settles there.
    const drawn = await waitFor(async () => {
      const d = await dataset(page);
      const settled = Math.abs(Number(d.drawnX) - 340) < 0.5 && Math.abs(Number(d.drawnY) + 150) < 0.5 && Math.abs(Number(d.drawnZoom) - 2) < 0.002;
      return d.seq === String(lastId) && settled ? d : undefined;
    }, 'the indicator to reach the written position and head to its target');
        expect(drawn).toMatchObject({ camera: 'main', x: '300', y: '-150', zoom: '2' });
    // And the indicator is really painted there: amber (#ffb000) at its centre.
    const pixel = await page.evaluate(({ x, y }) => {
      const canvas = document.getElementById('view') as HTMLCanvasElement;
      const ratio = canvas.width / canvas.clientWidth;
      return [...canvas.getContext('2d')!.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data];
    }, { x: Number(drawn.screenX), y: Number(drawn.screenY) });
    expect(pixel.slice(0, 3)).toEqual([255, 176, 0]);
    await expectText(page, '#status', 'live');
    await expectText(page, '#position', '300.00, -150.00 ×2.000');

    // A second camera appears in the picker; choosing it draws it instead.
    const other = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'overview', x: -80, y: 40, zoom: 0.5 }] });
    await waitFor(async () => (await page.locator('#camera option').allTextContents()).includes('overview'), 'the camera list to offer overview');
    await page.selectOption('#camera', 'overview');
    await waitFor(async () => {
      const d = await dataset(page);
      return d.camera === 'overview' && d.seq === String(other.lastId) && Math.abs(Number(d.drawnX) + 80) < 0.5 ? d : undefined;
    }, 'the overview camera to be drawn');
    expect(new URL(page.url()).searchParams.get('camera')).toBe('overview');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer.png') });
    expect(pageErrors).toEqual([]);
    await page.close();
    await stopProcess(server);
  });

  it('falls back to JSON when msgpackr cannot be loaded, and reconnects after a server restart', async () => {
    const db = join(tempDir(), 'camera.db');
    const first = await startServer(['--db', db]);
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.route('**/msgpackr.js', (route) => route.abort());
    await page.goto(`${first.httpUrl}/?camera=main`);
    await waitFor(async () => (await dataset(page)).state === 'open', 'the page to connect');
    expect((await dataset(page)).encoding).toBe('json');

    await stopProcess(first, 'SIGKILL');
    await waitFor(async () => (await dataset(page)).state === 'reconnecting', 'the page to notice');
    await expectText(page, '#status', /^reconnecting in \d+\.\d s \(attempt \d+\)$/);
    const second = await startServer(['--db', db, '--port', String(first.port)]);
    await waitFor(async () => (await dataset(page)).state === 'open', 'the page to reconnect', 20_000);
    const { lastId } = await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 12, y: 34, zoom: 1 }] });
    await waitFor(async () => {
      const d = await dataset(page);
      return d.seq === String(lastId) && Math.abs(Number(d.drawnX) - 12) < 0.5 ? d : undefined;
    }, 'an update after the restart');
    // The figures are redrawn on the page's own schedule: poll for them.
    await expectText(page, '#connections', '2 (1 reconnections)');
    expect(pageErrors).toEqual([]);
    await page.close();
    await stopProcess(second);
  });

  it('draws the map under the camera and keeps it across a server restart (recovered, not rebuilt)', async () => {
    const db = join(tempDir(), 'camera.db');
    await stopProcess(await startServer(['--db', db]));
    await writeRowsFromAnotherProcess({ db, rows: [{ camera: 'main', x: 0, y: 0, zoom: 1 }] });
    await writeRowsFromAnotherProcess({ db, burst: { count: 60, perTransaction: 60, tiles: true, coordinates: 30 } });
    const first = await startServer(['--db', db]);
    const page = await openViewer(first);
    await waitFor(async () => (await dataset(page)).tiles === '30', 'the map of 30 tiles');
    expect(await dataset(page)).toMatchObject({ mapRecovered: 'false', mapResumed: 'false', mapRebuilds: '0' });
    // Tile (0, 0) is painted under the camera: not the background colour.
    const background = [15, 20, 25];
    const pixelAt = () =>
      page.evaluate(() => {
        const canvas = document.getElementById('view') as HTMLCanvasElement;
        const d = canvas.dataset;
        const ratio = canvas.width / canvas.clientWidth;
        // The camera is at (0, 0): a few pixels right of and below it lies tile (0, 0).
        return [...canvas.getContext('2d')!.getImageData(Math.round((Number(d.screenX) + 12) * ratio), Math.round((Number(d.screenY) + 12) * ratio), 1, 1).data];
      });
    await waitFor(async () => (await dataset(page)).screenX !== undefined, 'the camera to be drawn');
    expect((await pixelAt()).slice(0, 3)).not.toEqual(background);

    await stopProcess(first, 'SIGKILL');
    await waitFor(async () => (await dataset(page)).state === 'reconnecting', 'the page to notice');
    await writeRowsFromAnotherProcess({ db, burst: { count: 20, perTransaction: 20, tiles: true, coordinates: 50 } });
    const second = await startServer(['--db', db, '--port', String(first.port)]);
    await waitFor(async () => (await dataset(page)).mapResumed === 'true', 'the page to resume', 20_000);
    // Only the 20 missed tiles come (coordinates 0..19, already on the map): 30 map tiles
    // plus 20 received in all, and the map kept, not rebuilt.
    await waitFor(async () => (await page.locator('#tiles').textContent())?.startsWith('50, last'), 'the 20 missed tiles', 20_000);
    expect(await dataset(page)).toMatchObject({ tiles: '30', mapRecovered: 'true', mapRebuilds: '0' });
    expect(pageErrors).toEqual([]);
    await page.close();
    await stopProcess(second);
  });
});
