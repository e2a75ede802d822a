// `wirecam simulate`: a stand-in compositor in its own process, writing a smooth camera
// path into the store the way a real producer would.
import { resolveConfig, SIMULATE_SETTINGS, ConfigError } from '../config.js';
import { isCameraId } from '../protocol/validate.js';
import { openStore } from '../store/open.js';
import { StoreWriter } from '../store/writer.js';
import { runPath } from '../sources/simulated-camera.js';

export async function simulate(argv: readonly string[]): Promise<void> {
  const { config } = resolveConfig(SIMULATE_SETTINGS, { argv, env: process.env });
  if (!isCameraId(config.camera)) throw new ConfigError(`--camera: "${config.camera}" is not a valid camera id (^[A-Za-z0-9_.:-]{1,64}$)`);
  const db = openStore(config.db);
  const writer = new StoreWriter(db);
  const started = Date.now();
  const runner = runPath(config.camera, config.rate, config.duration, (state) => writer.insert([{ kind: 'camera', value: state }]));
  const stop = () => runner.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const report = setInterval(() => {
    process.stderr.write(`simulate: ${config.camera} at ${config.rate} Hz, ${Math.round((Date.now() - started) / 1000)} s\n`);
  }, 5000);
  const written = await runner.done;
  clearInterval(report);
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  db.close();
  process.stderr.write(`simulate: wrote ${written} camera states to ${config.db} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
