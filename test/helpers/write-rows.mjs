// A separate OS process that writes rows into a wirecam store with its own SQLite
// connection, the way a compositor would. Input: one JSON object as argv[2].
//   { db, rows: [{ table?: 'camera_updates'|'tile_updates', ...columns }] }   rows as given
//   { db, burst: { camera, cameras?, count, perTransaction, rateHz?, tiles?, coordinates? } }  generated states
//   (tiles with `coordinates: n` cycle through n coordinates: x = i % n, y = -(i % n))
// Prints one JSON line: { written, lastId, lastTileId, firstTs, lastTs }.
import Database from 'better-sqlite3';

const spec = JSON.parse(process.argv[2]);
const db = new Database(spec.db);
db.pragma('busy_timeout = 10000');
db.pragma('journal_mode = WAL');

const insertCamera = db.prepare(
  'INSERT INTO camera_updates (camera, x, y, zoom, target_x, target_y, target_zoom, ts) VALUES (@camera, @x, @y, @zoom, @target_x, @target_y, @target_zoom, @ts)',
);
const insertTile = db.prepare('INSERT INTO tile_updates (x, y, brick, ts) VALUES (@x, @y, @brick, @ts)');

let lastId = 0;
let lastTileId = 0;
let written = 0;

function insert(row) {
  if (row.table === 'tile_updates') {
    lastTileId = Number(insertTile.run({ x: row.x, y: row.y, brick: row.brick, ts: row.ts ?? Date.now() }).lastInsertRowid);
  } else {
    lastId = Number(
      insertCamera.run({
        camera: row.camera ?? 'main',
        x: row.x,
        y: row.y,
        zoom: row.zoom,
        target_x: row.target_x ?? null,
        target_y: row.target_y ?? null,
        target_zoom: row.target_zoom ?? null,
        ts: row.ts ?? Date.now(),
      }).lastInsertRowid,
    );
  }
  written++;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

if (spec.rows) {
  db.transaction(() => spec.rows.forEach(insert))();
} else if (spec.burst) {
  // `cameras: n` cycles through camera ids `${camera}-0` .. `${camera}-(n-1)`.
  const { camera = 'main', cameras = 0, count, perTransaction = 1, rateHz = 0, tiles = false, coordinates = 0 } = spec.burst;
  const cameraOf = (i) => (cameras > 0 ? `${camera}-${i % cameras}` : camera);
  const start = Date.now();
  for (let i = 0; i < count; ) {
    const n = Math.min(perTransaction, count - i);
    db.transaction(() => {
      for (let k = 0; k < n; k++, i++) {
        const c = coordinates > 0 ? i % coordinates : i;
        if (tiles) insert({ table: 'tile_updates', x: c, y: -c, brick: `brick-${i}` });
        else insert({ camera: cameraOf(i), x: i, y: i * 0.5, zoom: 1 + (i % 100) / 100, ts: Date.now() });
      }
    })();
    if (rateHz > 0) {
      const due = start + (i / rateHz) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
}
db.close();
process.stdout.write(JSON.stringify({ written, lastId, lastTileId }) + '\n');
