// A producer program for `wirecam serve --source-cmd`: prints updates one per line, some
// invalid on purpose. The first run exits (status 3) so the source must restart it; later
// runs keep printing until they are stopped. argv[2]: a file counting the runs.
import { appendFileSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';

const counter = process.argv[2];
appendFileSync(counter, 'run\n');
const run = readFileSync(counter, 'utf8').trim().split('\n').length;
// y says whether stdout is a terminal: 1 under the pty source.
const tty = isatty(1) ? 1 : 0;
const say = (line) => process.stdout.write(`${line}\n`);

say(`starting run ${run}`); // not an update
say(`camera=pty x=${run} y=${tty} zoom=1.25 target_x=${run + 0.5}`);
say(JSON.stringify({ type: 'camera_update', camera: 'pty-json', x: run * 10, y: -1, zoom: 2 }));
say(`type=tile_update x=${run} y=-2 brick="stone wall"`);
say('camera=pty x=abc y=1 zoom=1'); // non_finite
say('camera=pty x=1 y=1 zoom=-1'); // bad_zoom
say('{"camera": "pty", "x": 1,'); // bad_json
say('camera=bad!id x=1 y=1 zoom=1'); // bad_camera
say('hello world'); // not_an_update, again
if (run === 1) {
  process.exitCode = 3;
} else {
  let i = 0;
  setInterval(() => say(`camera=pty-live x=${++i} y=0 zoom=1`), 100);
}
