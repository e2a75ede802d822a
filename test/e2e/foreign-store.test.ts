// A store file made by another program, whose tables are not wirecam's, given at start: the
// service stops at once with one line that says what is wrong (and nothing of waiting), and
// the file is left as it was.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startProcess } from '../helpers/processes.js';
import { tempDir, removeTempDirs } from '../helpers/tmp.js';

afterAll(() => removeTempDirs());

/** An SQLite file made by another process (sqlite3's Python module) from `sql`. */
async function foreignStore(sql: string): Promise<string> {
  const path = join(tempDir(), 'other.db');
  const made = startProcess(['-c', `import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.executescript(sys.argv[2])\ndb.close()`, path, sql], { command: 'python3' });
  const { code } = await made.exited;
  expect(code, made.stderr.join('\n')).toBe(0);
  return path;
}

describe('a store whose tables are not wirecam\'s, at start', () => {
  for (const { what, sql, reason } of [
    {
      what: 'columns missing',
      sql: 'CREATE TABLE camera_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT, ts INTEGER);',
      reason: 'table camera_updates lacks column(s) x, y, zoom, target_x, target_y, target_zoom',
    },
    {
      what: 'the camera column missing too (which the index needs)',
      sql: 'CREATE TABLE camera_updates (id INTEGER PRIMARY KEY AUTOINCREMENT, foo TEXT);',
      reason: 'table camera_updates lacks column(s) camera, x, y, zoom, target_x, target_y, target_zoom, ts',
    },
    {
      what: 'ids that are not AUTOINCREMENT',
      sql: 'CREATE TABLE tile_updates (id INTEGER PRIMARY KEY, x INTEGER, y INTEGER, brick TEXT, ts INTEGER);',
      reason: 'its tables are not AUTOINCREMENT (no sqlite_sequence), so ids could be reused',
    },
  ]) {
    it(`${what}: one line saying what is wrong, status 1, the file unchanged`, async () => {
      const path = await foreignStore(sql);
      const before = readFileSync(path);
      const { code, stderr } = await runCli(['serve', '--port', '0', '--db', path]);
      expect(code).toBe(1);
      expect(stderr).toEqual([`wirecam serve: cannot open database ${path}: ${reason}: not a wirecam store; left unchanged`]);
      expect(stderr[0]).not.toMatch(/waiting/);
      expect(readFileSync(path).equals(before), 'the file is byte for byte as it was').toBe(true);
    });
  }
});
