// Which commit bench:check takes as its reference (bench/reference.ts), in a real git
// repository made in a temporary folder.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseReference } from '../../bench/reference.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

afterEach(removeTempDirs);

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd, encoding: 'utf8' }).trim();
}

/** A repository with `commits` commits of one tracked file. */
function repository(commits: number): string {
  const dir = tempDir('wirecam-git-');
  git(dir, 'init', '-q');
  for (let i = 1; i <= commits; i++) {
    writeFileSync(join(dir, 'file.txt'), `${i}\n`);
    git(dir, 'add', 'file.txt');
    git(dir, 'commit', '-q', '-m', `commit ${i}`);
  }
  return dir;
}

describe('chooseReference', () => {
  it('takes the previous commit when the tree is clean (HEAD is the candidate)', () => {
    const repo = repository(2);
    const chosen = chooseReference(repo);
    expect(chosen.ref).toBe('HEAD~1');
    expect(chosen.commit).toBe(git(repo, 'rev-parse', 'HEAD~1'));
    expect(chosen.candidate).toMatch(/^HEAD \(/);
  });

  it('takes HEAD when tracked files have uncommitted changes (the working tree is the candidate)', () => {
    const repo = repository(2);
    writeFileSync(join(repo, 'file.txt'), 'changed\n');
    const chosen = chooseReference(repo);
    expect(chosen.ref).toBe('HEAD');
    expect(chosen.commit).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(chosen.candidate).toMatch(/^the working tree/);
  });

  it('does not count untracked files as changes', () => {
    const repo = repository(2);
    writeFileSync(join(repo, 'untracked.txt'), 'new\n');
    expect(chooseReference(repo).ref).toBe('HEAD~1');
  });

  it('takes --ref as given, and says plainly when it names no commit', () => {
    const repo = repository(3);
    git(repo, 'tag', 'v1', 'HEAD~2');
    expect(chooseReference(repo, 'v1').commit).toBe(git(repo, 'rev-parse', 'HEAD~2'));
    expect(() => chooseReference(repo, 'no-such-ref')).toThrow(/'no-such-ref' names no commit/);
    expect(() => chooseReference(repository(1))).toThrow(/'HEAD~1' names no commit/);
  });
});
