// The store tail, inside a worker: woken by the kernel when the store's files are written
// (fs.watch on its folder), it checks PRAGMA data_version (cheap: it only moves when another
// connection commits), reads the rows after its cursor, validates and encodes them, and
// posts them to the main thread as one transferred buffer per batch. No polling while the
// folder can be watched; a slow safety check catches anything a watch could miss.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { encodeBatch } from '../src/protocol/ready-frame.js';
import type { Cursor } from '../src/store/reader.js';
import { raiseSequences } from '../src/store/sequences.js';
import { StoreMissingError } from '../src/store/identity.js';
import { newEpoch } from '../src/store/meta.js';
import type { ReadSide } from './store-worker.js';
import { MAX_BATCHES_IN_FLIGHT, TAKEN, type StreamControl, type StreamMessage } from '../src/store/stream-messages.js';

export interface StreamTask {
  op: 'stream';
  path: string;
  cursor: Cursor;
  limit: number;
  /** Poll interval where the folder cannot be watched. */
  pollMs: number;
  /** Interval of the safety check while watching. */
  safetyMs: number;
  port: MessagePort;
  credit: Int32Array;
}

/**
 * A commit is several writes (WAL frames, an fsync with synchronous=FULL, then the index
 * header in shared memory, which no file event reports), so a check right after a write may
 * come before the commit is visible: then it looks again after these delays, until it sees
 * the commit or the next write wakes it. Most commits are visible at the first or second look.
 */
const RECHECK_AFTER_MS = [1, 3, 10, 30, 100];
const FAILURE_REPORT_MS = 5000;

export function streamStore(task: StreamTask, openSide: () => ReadSide, forget: () => void): Promise<void> {
  const { port, credit } = task;
  let cursor = task.cursor;
  let posted = 0;
  let dataVersion: number | null = null;
  let identity: string | null = null;
  let readAgain = true;
  /** Index into RECHECK_AFTER_MS of the next look; its length: none due. */
  let recheck = RECHECK_AFTER_MS.length;
  let failingSince = 0;
  let lastFailureReport = 0;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;
  let immediate: NodeJS.Immediate | null = null;
  let watcher: FSWatcher | null = null;
  let safety: NodeJS.Timeout | null = null;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const post = (message: StreamMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const soon = () => {
    immediate ??= setImmediate(() => {
      immediate = null;
      check();
    });
  };

  const after = (ms: number) => {
    const at = Date.now() + ms;
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = null;
      timerAt = Infinity;
      check();
    }, ms);
  };

  function check(): void {
    if (posted - Atomics.load(credit, TAKEN) >= MAX_BATCHES_IN_FLIGHT) {
      // The main thread is behind: read nothing more until it catches up.
      after(1);
      return;
    }
    try {
      const side = openSide();
      if (identity !== null && side.identity !== identity) replaced(side);
      identity = side.identity;
      const store = side.reader;
      const version = store.currentDataVersion();
      if (!readAgain && version === dataVersion) {
        if (recheck < RECHECK_AFTER_MS.length) after(RECHECK_AFTER_MS[recheck++]!);
        return;
      }
      recheck = RECHECK_AFTER_MS.length;
      dataVersion = version;
      const rows = store.read(cursor, task.limit);
      if (failingSince !== 0) {
        failingSince = 0;
        post({ type: 'recovered' });
      }
      readAgain = rows.more;
      if (rows.cameras.length > 0 || rows.tiles.length > 0 || rows.rejected.length > 0) {
        cursor = rows.cursor;
        const batch = encodeBatch(rows.cameras, rows.tiles);
        posted++;
        post({ type: 'batch', batch, rejected: rows.rejected, cursor }, [batch.bytes]);
      }
      if (readAgain) soon();
    } catch (error) {
      forget();
      readAgain = true;
      // Whatever file appears at the path from now on is another one.
      if (error instanceof StoreMissingError) identity = 'missing';
      const now = Date.now();
      if (failingSince === 0) failingSince = now;
      if (now - lastFailureReport >= FAILURE_REPORT_MS) {
        lastFailureReport = now;
        post({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
      }
      after(Math.min(2000, 100 * 2 ** Math.min(5, Math.floor((now - failingSince) / 1000))));
    }
  }

  /**
   * Another file now sits at the store's path (restored from a backup, recreated by a
   * producer): rows already in it are not ours to send (they may predate what clients have),
   * so reading starts after its newest row, and ids continue above every seq already sent.
   * Its tiles are not the ones clients hold either: it gets a new epoch (PROTOCOL.md 9).
   */
  function replaced(side: ReadSide): void {
    const newest = side.reader.newestIds();
    raiseSequences(side.db, cursor);
    const epoch = newEpoch(side.db);
    cursor = { camera: Math.max(cursor.camera, newest.camera), tile: Math.max(cursor.tile, newest.tile) };
    dataVersion = null;
    post({ type: 'replaced', cursor, epoch });
  }

  const onWrite = () => {
    recheck = 0;
    soon();
  };

  const absolute = resolve(task.path);
  const names = new Set([basename(absolute), `${basename(absolute)}-wal`, `${basename(absolute)}-journal`]);
  try {
    watcher = watch(dirname(absolute), { persistent: true }, (_event, name) => {
      if (name === null || names.has(name)) onWrite();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
      startSafety(task.pollMs);
      post({ type: 'watching', watching: false });
    });
  } catch {
    watcher = null;
  }

  function startSafety(ms: number): void {
    if (safety !== null) clearInterval(safety);
    safety = setInterval(check, ms);
  }
  startSafety(watcher === null ? task.pollMs : task.safetyMs);
  post({ type: 'watching', watching: watcher !== null });

  port.on('message', (control: StreamControl) => {
    if (control.type === 'check') onWrite();
    else if (control.type === 'stop') {
      watcher?.close();
      if (safety !== null) clearInterval(safety);
      if (timer !== null) clearTimeout(timer);
      if (immediate !== null) clearImmediate(immediate);
      port.close();
      finish();
    }
  });
  check();
  return done;
}
