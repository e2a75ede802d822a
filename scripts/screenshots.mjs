#!/usr/bin/env node
// Regenerates the README's pictures from the real thing: docs/viewer.png (the viewer page in
// Debian's chromium, following the demo camera) and docs/top.png (`wirecam top` in a
// pseudo-terminal, its screen drawn as text in the same browser). Needs a build (npm run
// build), /usr/bin/chromium and the dev dependencies. Usage: npm run screenshots
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import pty from 'node-pty';
import xterm from '@xterm/headless';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli.js');
const docs = join(root, 'docs');
const work = mkdtempSync(join(tmpdir(), 'wirecam-screenshots-'));
const db = join(work, 'camera.db');
const children = [];

function start(args) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function listening(server) {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      for (const line of out.split('\n')) {
        try {
          const entry = JSON.parse(line);
          if (typeof entry.url === 'string' && String(entry.msg).startsWith('listening on ')) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // Not a complete JSON line yet.
        }
      }
    });
  });
}

/** The headless terminal's screen as HTML, with the colours and weights `top` uses. */
function screenHtml(terminal) {
  const palette = ['#0b0f13', '#ff6b6b', '#5ee38f', '#ffb000', '#6cb6ff', '#d38aff', '#56d4dd', '#d5dde5'];
  const escape = (text) => text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
  const buffer = terminal.buffer.active;
  const rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    let html = '';
    for (let x = 0; x < terminal.cols; x++) {
      const cell = line.getCell(x);
      const chars = cell.getChars() || ' ';
      const styles = [];
      if (cell.isFgPalette() && cell.getFgColor() < 8) styles.push(`color:${palette[cell.getFgColor()]}`);
      if (cell.isBold()) styles.push('font-weight:700');
      if (cell.isDim()) styles.push('opacity:0.55');
      html += styles.length > 0 ? `<span style="${styles.join(';')}">${escape(chars)}</span>` : escape(chars);
    }
    rows.push(html);
  }
  return `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#0b0f13">
<pre id="screen" style="margin:0;padding:14px 18px;display:inline-block;background:#0b0f13;color:#d5dde5;font:14px/1.35 'DejaVu Sans Mono',monospace">${rows.join('\n')}</pre>`;
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  mkdirSync(docs, { recursive: true });
  const server = start(['serve', '--port', '0', '--db', db, '--demo']);
  const url = await listening(server);
  const httpUrl = url.replace(/^ws/, 'http');
  start(['simulate', '--db', db, '--camera', 'overview', '--rate', '20', '--duration', '120']);
  start(['simulate', '--db', db, '--camera', 'minimap', '--rate', '5', '--duration', '120']);
  start(['tail', '--url', url, '--encoding', 'json', '--camera', 'main']).stdout.resume();

  // The viewer: let the demo camera travel half its orbit so the map has filled in.
  const page = await browser.newPage({ viewport: { width: 1100, height: 620 } });
  await page.goto(new URL('/?camera=main', httpUrl).toString());
  await sleep(12_000);
  await page.screenshot({ path: join(docs, 'viewer.png') });
  console.log(`wrote ${join(docs, 'viewer.png')}`);

  // `wirecam top` in a pseudo-terminal, its screen rendered as text.
  const terminal = new xterm.Terminal({ cols: 100, rows: 20, allowProposedApi: true });
  const top = pty.spawn(process.execPath, [cli, 'top', '--url', url], { name: 'xterm-256color', cols: 100, rows: 20, env: process.env });
  top.onData((data) => terminal.write(data));
  await sleep(4_000);
  await new Promise((resolve) => terminal.write('', resolve));
  const topPage = await browser.newPage({ viewport: { width: 1000, height: 600 }, deviceScaleFactor: 1 });
  await topPage.setContent(screenHtml(terminal));
  await topPage.locator('#screen').screenshot({ path: join(docs, 'top.png') });
  console.log(`wrote ${join(docs, 'top.png')}`);
  top.write('q');
} finally {
  await browser.close();
  stopAll();
  await sleep(500);
  rmSync(work, { recursive: true, force: true });
}
