// Rows written by another OS process (not the server's connection).
import { startProcess } from './processes.js';
import { fileURLToPath } from 'node:url';

const WRITER = fileURLToPath(new URL('./write-rows.mjs', import.meta.url));

export interface WriteResult {
  written: number;
  lastId: number;
  lastTileId: number;
}

export async function writeRowsFromAnotherProcess(spec: Record<string, unknown>): Promise<WriteResult> {
  const started = startProcess([WRITER, JSON.stringify(spec)]);
  const { code } = await started.exited;
  if (code !== 0) throw new Error(`row writer failed (${code}): ${started.stderr.join('\n')}`);
  return JSON.parse(started.stdout.find((line) => line.startsWith('{'))!) as WriteResult;
}
