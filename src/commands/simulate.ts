// `wirecam simulate`: a stand-in compositor in its own process, writing a smooth camera
// path into the store the way a real producer would.
import { resolveConfig, SIMULATE_SETTINGS, ConfigError } from '../config.js';
import { isCameraId } from '../protocol/validate.js';
import { openStore } from '../store/open.js';
import { StoreWriter } from '../store/writer.js';
import { runPath } from '../ingest/simulated-camera.js';
import { Progress } from '../progress.js';

/** How often the progress is looked at (it redraws at most this often on a terminal). */
const PROGRESS_TICK_MS = 100;

/**
 * `wirecam simulate [flags]` (SIMULATE_SETTINGS): writes a smooth path of camera `--camera`
 * into the store at `--rate` states per second, for `--duration` seconds (0: until SIGTERM or
 * SIGINT), with progress on stderr. Throws ConfigError for a bad flag, variable or camera id, and
 * StoreOpenError when the store cannot be opened for writing.
 */
export async function simulate(argv: readonly string[]): Promise<void> {
  const { config } = resolveConfig(SIMULATE_SETTINGS, { argv, env: process.env });
  if (!isCameraId(config.camera)) throw new ConfigError(`--camera: "${config.camera}" is not a valid camera id (^[A-Za-z0-9_.:-]{1,64}$)`);
  const db = openStore(config.db);
  const writer = new StoreWriter(db);
  const started = Date.now();
  let written = 0;
  const runner = runPath(config.camera, config.rate, config.duration, (state) => {
    writer.insert([{ kind: 'camera', value: state }]);
    written++;
  });
  const stop = () => runner.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // With --duration the work has a known end: a bar (or percentage) in seconds; without
  // one, the elapsed time and the count.
  const progress = new Progress({ label: `simulate: ${config.camera} at ${config.rate} Hz`, total: config.duration, unit: 's', stream: process.stderr });
  const report = setInterval(() => {
    const elapsedS = (Date.now() - started) / 1000;
    progress.update(Math.round(Math.min(elapsedS, config.duration || elapsedS) * 10) / 10, `${written} states`);
  }, PROGRESS_TICK_MS);
  const total = await runner.done;
  clearInterval(report);
  progress.finish();
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  db.close();
  process.stderr.write(`simulate: wrote ${total} camera states to ${config.db} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
