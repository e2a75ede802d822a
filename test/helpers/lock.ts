// Another process holding the store's write lock: the way a busy producer of another program
// blocks wirecam's writes. Started through processes.ts, so it is ended by its PID.
import { startProcess, type Started } from './processes.js';
import { waitFor } from './wait.js';

export interface LockOptions {
  /** A camera row written inside the locked transaction (committed on release). */
  insert?: { camera: string; x: number };
  /** Let go (COMMIT, close, print "released", exit 0) after this many ms; default 30,000. Writing to its stdin lets go at once. */
  releaseAfterMs?: number;
}

/**
 * Starts a Node process that opens `db`, takes the write lock (BEGIN IMMEDIATE), optionally
 * writes a row, prints "locked", and holds the lock until released; resolves once it holds it.
 */
export async function holdWriteLock(db: string, options: LockOptions = {}): Promise<Started> {
  const insert = options.insert === undefined
    ? ''
    : `db.prepare('INSERT INTO camera_updates (camera, x, y, zoom, ts) VALUES (?, ?, 0, 1, ?)').run(${JSON.stringify(options.insert.camera)}, ${options.insert.x}, Date.now());`;
  const holder = startProcess(
    [
      '--input-type=module',
      '-e',
      `import Database from 'better-sqlite3';
       const db = new Database(${JSON.stringify(db)});
       db.pragma('busy_timeout = 5000');
       db.exec('BEGIN IMMEDIATE');
       ${insert}
       console.log('locked');
       const release = () => { db.exec('COMMIT'); db.close(); console.log('released'); process.exit(0); };
       process.stdin.on('data', release);
       setTimeout(release, ${options.releaseAfterMs ?? 30_000});`,
    ],
    { cwd: process.cwd() },
  );
  await waitFor(() => holder.stdout.includes('locked'), 'the lock to be taken');
  return holder;
}
