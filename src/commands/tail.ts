// `wirecam tail`: a command-line client that prints updates as they arrive, one line each
// (or the messages themselves as JSON lines with --json), reconnecting when the server goes.
import { ConfigError, resolveConfig, TAIL_SETTINGS } from '../config.js';
import { ALL_CAMERAS, type CameraUpdate, type Encoding, type TileUpdate } from '../protocol/messages.js';
import { isCameraId } from '../protocol/validate.js';
import { WirecamClient } from '../client/node.js';
import { parseWebSocketUrl } from './server-url.js';

function time(ms: number): string {
  const date = new Date(ms);
  return `${date.toTimeString().slice(0, 8)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function num(value: number, digits: number): string {
  return value.toFixed(digits);
}

/**
 * One line for a camera state: local receipt time, camera, seq, pose, target when moving, and
 * its age (`now` minus its timestamp, ms).
 */
function formatCamera(update: CameraUpdate, now: number): string {
  const moving = update.target_x !== update.x || update.target_y !== update.y || update.target_zoom !== update.zoom;
  const target = moving ? `  → ${num(update.target_x, 2)}, ${num(update.target_y, 2)} ×${num(update.target_zoom, 3)}` : '';
  return `${time(now)} ${update.camera} #${update.seq}  x=${num(update.x, 2)} y=${num(update.y, 2)} zoom=${num(update.zoom, 3)}${target}  ${Math.max(0, now - update.timestamp)} ms`;
}

/** One line for a tile: local receipt time, seq, coordinates, brick, and its age in ms. */
function formatTile(tile: TileUpdate, now: number): string {
  return `${time(now)} tile #${tile.seq}  (${tile.x}, ${tile.y}) ${tile.brick}  ${Math.max(0, now - tile.timestamp)} ms`;
}

/** `--camera`'s comma-separated ids (or `*`). Throws ConfigError for an empty list or an invalid id. */
function parseCameras(text: string): string[] {
  const cameras = text.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (cameras.length === 0) throw new ConfigError('--camera: give at least one camera id, or *');
  for (const camera of cameras) {
    if (camera !== ALL_CAMERAS && !isCameraId(camera)) throw new ConfigError(`--camera: "${camera}" is not a valid camera id (^[A-Za-z0-9_.:-]{1,64}$)`);
  }
  return cameras;
}

/**
 * `wirecam tail [flags]` (TAIL_SETTINGS): prints each fresh update on stdout as it arrives (one
 * line, or JSON with --json), connection notes on stderr; reconnects until SIGINT, SIGTERM, a
 * closed stdout or `--count` updates. Throws ConfigError for a bad flag, URL or camera id, and
 * Error (one line: status and the server's message) when the server refuses the upgrade with
 * a status that trying again cannot change (a 4xx other than 408 and 429: isTransientRefusal);
 * after a 5xx, 408, 429 or a network failure it tries again.
 */
export async function tail(argv: readonly string[]): Promise<void> {
  const { config } = resolveConfig(TAIL_SETTINGS, { argv, env: process.env });
  const url = parseWebSocketUrl(config.url);
  const cameras = parseCameras(config.camera);
  const client = new WirecamClient({
    url,
    cameras,
    encoding: config.encoding as Encoding,
    ...(config['max-hz'] !== undefined ? { maxHz: config['max-hz'] } : {}),
    ...(config.token !== undefined ? { token: config.token } : {}),
  });
  const note = (text: string) => process.stderr.write(`tail: ${text}\n`);
  let printed = 0;
  await new Promise<void>((resolve, reject) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      client.close();
      resolve();
    };
    // A refusal that trying again cannot change (a token, a path): said once, then the end.
    client.on('refused', (refusal) => {
      const text = `${refusal.url} refused the connection: HTTP ${refusal.status}${refusal.message === '' ? '' : ` ${refusal.message}`}`;
      if (refusal.willReconnect) return;
      reject(new Error(text));
      finish();
    });
    const print = (line: string) => {
      process.stdout.write(`${line}\n`);
      printed++;
      if (config.count > 0 && printed >= config.count) finish();
    };
    // A closed pipe (`wirecam tail | head`) ends the program quietly.
    process.stdout.on('error', finish);
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    client.on('open', ({ encoding, legacy }) => note(`connected to ${url} (${legacy ? 'legacy JSON' : encoding})`));
    client.on('hello', (hello) => note(`${hello.server}, cameras ${hello.cameras.join(',')}, up to ${hello.max_hz} Hz`));
    client.on('disconnect', ({ code, reason, willReconnect, refusal }) => {
      if (!willReconnect) return;
      if (refusal !== undefined) note(`refused (${reason}), trying again`);
      else note(`disconnected (${code}${reason ? ` ${reason}` : ''}), reconnecting`);
    });
    client.on('server-error', (error) => note(`server error ${error.code}: ${error.message}`));
    client.on('camera', (update) => print(config.json ? JSON.stringify(update) : formatCamera(update, Date.now())));
    client.on('tile', (tile) => print(config.json ? JSON.stringify(tile) : formatTile(tile, Date.now())));
    client.connect();
  });
}
