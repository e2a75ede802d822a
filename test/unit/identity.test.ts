// Which file a path names (src/store/identity.ts): a file deleted and created again at the same
// path is another file, even when the file system hands it the freed inode number (ext4 does,
// at once), so a connection opened on the old one is never taken for a connection to the new one.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileIdentity } from '../../src/store/identity.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterAll(() => removeTempDirs());

describe('fileIdentity', () => {
  it('is the same while the file lives, through writes', () => {
    const path = join(tempDir(), 'camera.db');
    writeFileSync(path, 'a');
    const first = fileIdentity(path);
    writeFileSync(path, 'more bytes');
    expect(fileIdentity(path)).toBe(first);
  });

  it('differs for a file created again at the path, whatever inode it is given', () => {
    const dir = tempDir();
    const path = join(dir, 'camera.db');
    for (let i = 0; i < 20; i++) {
      writeFileSync(path, 'old');
      const old = fileIdentity(path);
      rmSync(path);
      writeFileSync(path, 'new');
      expect(fileIdentity(path)).not.toBe(old);
      rmSync(path);
    }
  });

  it('differs for another file renamed into place, and is null when nothing is there', () => {
    const dir = tempDir();
    const path = join(dir, 'camera.db');
    writeFileSync(path, 'one');
    const one = fileIdentity(path);
    mkdirSync(join(dir, 'aside'));
    writeFileSync(join(dir, 'aside', 'camera.db'), 'two');
    renameSync(join(dir, 'aside', 'camera.db'), path);
    expect(fileIdentity(path)).not.toBe(one);
    rmSync(path);
    expect(fileIdentity(path)).toBeNull();
  });
});
