// Reading the store from the test process: its own connection, read-only.
import Database from 'better-sqlite3';

export function queryStore<T = Record<string, unknown>>(db: string, sql: string, ...params: unknown[]): T[] {
  const connection = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return connection.prepare(sql).all(...params) as T[];
  } finally {
    connection.close();
  }
}

export function countRows(db: string, table = 'camera_updates'): number {
  return queryStore<{ n: number }>(db, `SELECT COUNT(*) AS n FROM ${table}`)[0]!.n;
}
