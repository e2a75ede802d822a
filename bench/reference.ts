// The reference build for `bench:check`: a git commit checked out in a temporary worktree
// (`git worktree add --detach`), given dependencies (the candidate's node_modules when the
// lock files are identical, otherwise `npm ci` there) and built with its own `npm run build`.
// The candidate is always this checkout as built in dist/, uncommitted changes included.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What is compared with what. */
export interface Comparison {
  /** The git ref as asked for or chosen (e.g. 'HEAD~1', 'HEAD', 'main'). */
  ref: string;
  /** The full commit id it names. */
  commit: string;
  /** The candidate, in words: 'HEAD (abc1234)' or 'the working tree (uncommitted changes on abc1234)'. */
  candidate: string;
  /** Why this reference: given by --ref, or the default for a clean or a changed tree. */
  why: string;
}

/** The top folder of the git checkout holding `path`. Throws when it is not in one. */
export function repositoryRoot(path: string): string {
  return git(path, ['rev-parse', '--show-toplevel']);
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Chooses the reference: `ref` when given; otherwise HEAD when tracked files have
 * uncommitted changes (the working tree is the candidate), and HEAD~1 when the tree is clean
 * (HEAD is the candidate). Untracked files do not count as changes. Throws when the ref
 * names no commit (e.g. HEAD~1 in a repository of one commit).
 */
export function chooseReference(repo: string, ref?: string): Comparison {
  const head = git(repo, ['rev-parse', '--short', 'HEAD']);
  const changed = git(repo, ['status', '--porcelain', '--untracked-files=no']) !== '';
  const candidate = changed ? `the working tree (uncommitted changes on ${head})` : `HEAD (${head})`;
  const chosen = ref ?? (changed ? 'HEAD' : 'HEAD~1');
  const why = ref !== undefined ? 'given by --ref' : changed ? 'default with uncommitted changes: HEAD' : 'default with a clean tree: the previous commit';
  let commit: string;
  try {
    commit = git(repo, ['rev-parse', '--verify', '--quiet', `${chosen}^{commit}`]);
  } catch {
    throw new Error(`bench:check: '${chosen}' names no commit in ${repo}`);
  }
  return { ref: chosen, commit, candidate, why };
}

/** A reference build on disk, and how to take it away. */
export interface ReferenceBuild {
  /** The temporary worktree. */
  dir: string;
  /** Its `dist/src/cli.js`, for the wirecam peer. */
  cli: string;
  /** 'shared' when the candidate's node_modules was linked in, 'npm ci' when installed afresh. */
  dependencies: 'shared' | 'npm ci';
  /** Removes the worktree (and its link to node_modules); safe to call twice; never throws. */
  remove(): void;
}

const children = new Set<ChildProcess>();

/**
 * Ends every install or build this module started that is still running: each was started
 * as the leader of its own process group, so its PID names the group and the compiler that
 * npm starts ends with it.
 */
export function killChildren(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  }
}

/** Runs a command to its end with output on stderr; rejects on a non-zero exit. */
function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 2, 2], detached: true });
    children.add(child);
    child.on('error', (error) => {
      children.delete(child);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} in ${cwd} ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

/**
 * Checks `commit` out into a temporary detached worktree of `repo`, gives it dependencies
 * and builds it. The worktree is removed again if any step fails (the error is rethrown);
 * otherwise the caller must call remove(), on failure too. Throws when git, npm or the
 * build fail, or the build has no dist/src/cli.js.
 */
export async function prepareReference(repo: string, commit: string): Promise<ReferenceBuild> {
  const dir = mkdtempSync(join(tmpdir(), 'wirecam-reference-'));
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    killChildren();
    const link = join(dir, 'node_modules');
    try {
      // Unlink first, so that nothing below can reach through into the shared install.
      unlinkSync(link);
    } catch {
      // Not a link (npm ci), or not there.
    }
    try {
      git(repo, ['worktree', 'remove', '--force', dir]);
    } catch {
      // Not registered (add failed) or already gone: remove the folder and the record.
      rmSync(dir, { recursive: true, force: true });
      try {
        git(repo, ['worktree', 'prune']);
      } catch {
        // Nothing to prune.
      }
    }
  };
  // Also on an exit that skips the caller's cleanup (a signal handler's process.exit).
  process.on('exit', remove);
  try {
    git(repo, ['worktree', 'add', '--detach', dir, commit]);
    const lock = (folder: string) => (existsSync(join(folder, 'package-lock.json')) ? readFileSync(join(folder, 'package-lock.json'), 'utf8') : null);
    let dependencies: ReferenceBuild['dependencies'];
    const ours = join(repo, 'node_modules');
    if (lock(repo) !== null && lock(repo) === lock(dir) && existsSync(ours)) {
      symlinkSync(realpathSync(ours), join(dir, 'node_modules'), 'dir');
      dependencies = 'shared';
    } else {
      process.stderr.write('bench:check: the reference has another package-lock.json: npm ci in its worktree\n');
      await run('npm', ['ci', '--no-audit', '--no-fund'], dir);
      dependencies = 'npm ci';
    }
    process.stderr.write(`bench:check: building the reference in ${dir}\n`);
    await run('npm', ['run', 'build'], dir);
    const cli = join(dir, 'dist/src/cli.js');
    if (!existsSync(cli)) throw new Error(`the reference build has no ${cli}`);
    return { dir, cli, dependencies, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
