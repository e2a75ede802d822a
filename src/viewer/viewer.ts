// The viewer page's script (GET / loads it as /viewer/viewer.js). It follows one camera with
// the wirecam client library: MessagePack when msgpackr's browser build has loaded, JSON
// otherwise. The drawn state is mirrored in data-* attributes of the canvas, so that tests
// and tools can read what is on screen without reading pixels.
import {
  CameraInterpolator,
  LatencyWindow,
  RateMeter,
  WirecamClient,
  type CameraPose,
  type CameraUpdate,
  type Encoding,
  type StateChange,
} from '../client/index.js';
import { Scene } from './scene.js';

/** The trail: one point every TRAIL_STEP_MS, the last 8 seconds. */
const TRAIL_STEP_MS = 50;
const TRAIL_LENGTH = 160;
const FIGURES_INTERVAL_MS = 250;

const params = new URLSearchParams(location.search);
const msgpackLoaded = typeof (globalThis as { msgpackr?: { Unpackr?: unknown } }).msgpackr?.Unpackr === 'function';
const encoding: Encoding = params.get('encoding') === 'json' || !msgpackLoaded ? 'json' : 'msgpack';
const cameraChosen = params.has('camera');
let selected = params.get('camera') ?? 'main';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`viewer page has no #${id}`);
  return found as T;
}

const canvas = element<HTMLCanvasElement>('view');
const picker = element<HTMLSelectElement>('camera');
const status = element<HTMLElement>('status');
const figures = {
  encoding: element('encoding'),
  server: element('server'),
  rate: element('rate'),
  rateAll: element('rate-all'),
  latency: element('latency'),
  seq: element('seq'),
  position: element('position'),
  target: element('target'),
  tiles: element('tiles'),
  connections: element('connections'),
};

const viewport = parseViewport(params.get('viewport'));
const scene = new Scene(canvas, viewport);
const interpolator = new CameraInterpolator();
const cameraRate = new RateMeter(2000);
const allRate = new RateMeter(2000);
const latency = new LatencyWindow(5000);
let latest: CameraUpdate | null = null;
let trail: CameraPose[] = [];
let lastTrailAt = Number.NEGATIVE_INFINITY;
let tilesReceived = 0;
let lastTile = '';
/** The map: the latest tile of each coordinate, kept across reconnections while the server recovers it. */
const tiles = new Map<string, { x: number; y: number; brick: string }>();
/** World units per tile (the demo's, src/ingest/simulated-tiles.ts). */
const TILE_SIZE = 64;
let mapRebuilds = 0;
let stateText = 'connecting';
const seenOnConnection = new Set<string>();

const maxHz = params.get('max_hz');
const token = params.get('token');
const client = new WirecamClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`,
  cameras: ['*'],
  encoding,
  ...(maxHz !== null && Number.isFinite(Number(maxHz)) ? { maxHz: Number(maxHz) } : {}),
  ...(token !== null ? { token } : {}),
  tiles: 'map',
});

client.on('state', (change) => showState(change));
client.on('hello', (hello) => (figures.server.textContent = `${hello.server}, up to ${hello.max_hz} Hz`));
client.on('open', ({ encoding: chosen, legacy }) => {
  seenOnConnection.clear();
  figures.encoding.textContent = legacy ? 'json (legacy)' : chosen;
  canvas.dataset.encoding = chosen;
});
client.on('camera', (update) => {
  const now = performance.now();
  allRate.record(now);
  addCameraOption(update.camera);
  if (update.camera !== selected && !cameraChosen && latest === null) select(update.camera);
  if (update.camera !== selected) return;
  cameraRate.record(now);
  // The first state of a connection is usually the snapshot: its age is not a latency.
  if (seenOnConnection.has(update.camera)) latency.record(Math.max(0, Date.now() - update.timestamp), now);
  seenOnConnection.add(update.camera);
  showLatest(update);
  interpolator.push(update, now);
});
client.on('tile', (tile) => {
  tilesReceived++;
  lastTile = `(${tile.x}, ${tile.y}) ${tile.brick}`;
  tiles.set(`${tile.x},${tile.y}`, { x: tile.x, y: tile.y, brick: tile.brick });
  canvas.dataset.tiles = String(tiles.size);
});
// After each hello: the map is kept when the server recovered what was missed, else rebuilt.
client.on('map', ({ recovered, resumed }) => {
  if (!recovered && tiles.size > 0) {
    tiles.clear();
    mapRebuilds++;
  }
  canvas.dataset.tiles = String(tiles.size);
  canvas.dataset.mapRecovered = String(recovered);
  canvas.dataset.mapResumed = String(resumed);
  canvas.dataset.mapRebuilds = String(mapRebuilds);
});

picker.addEventListener('change', () => select(picker.value));
addCameraOption(selected);
client.connect();
requestAnimationFrame(frame);
setInterval(showFigures, FIGURES_INTERVAL_MS);

function select(camera: string): void {
  selected = camera;
  addCameraOption(camera);
  picker.value = camera;
  interpolator.clear();
  const known = client.latest(camera);
  showLatest(known ?? null);
  if (known !== undefined) interpolator.push(known, performance.now());
  trail = [];
  scene.reset();
  canvas.dataset.camera = camera;
  const url = new URL(location.href);
  url.searchParams.set('camera', camera);
  history.replaceState(null, '', url);
}

/** The newest state of the chosen camera, as received (the canvas shows it interpolated). */
function showLatest(update: CameraUpdate | null): void {
  latest = update;
  for (const key of ['seq', 'x', 'y', 'zoom'] as const) {
    if (update === null) delete canvas.dataset[key];
    else canvas.dataset[key] = String(update[key]);
  }
  if (update === null) for (const key of ['drawnX', 'drawnY', 'drawnZoom', 'screenX', 'screenY']) delete canvas.dataset[key];
}

function addCameraOption(camera: string): void {
  if ([...picker.options].some((option) => option.value === camera)) return;
  const option = new Option(camera, camera);
  const before = [...picker.options].find((existing) => existing.value.localeCompare(camera) > 0);
  picker.add(option, before ?? null);
  if (camera === selected) picker.value = camera;
}

function frame(): void {
  const now = performance.now();
  const pose = interpolator.sample(now);
  if (pose !== null && now - lastTrailAt >= TRAIL_STEP_MS) {
    lastTrailAt = now;
    trail.push(pose);
    if (trail.length > TRAIL_LENGTH) trail = trail.slice(-TRAIL_LENGTH);
  }
  const target = latest === null ? null : { x: latest.target_x, y: latest.target_y, zoom: latest.target_zoom };
  const drawn = scene.draw({ label: selected, pose, target, trail, tiles: tiles.values(), tileSize: TILE_SIZE });
  canvas.dataset.camera = selected;
  if (pose !== null && drawn !== null) {
    canvas.dataset.drawnX = pose.x.toFixed(3);
    canvas.dataset.drawnY = pose.y.toFixed(3);
    canvas.dataset.drawnZoom = pose.zoom.toFixed(4);
    canvas.dataset.screenX = drawn.screenX.toFixed(1);
    canvas.dataset.screenY = drawn.screenY.toFixed(1);
  }
  requestAnimationFrame(frame);
}

function showState(change: StateChange): void {
  canvas.dataset.state = change.state;
  status.dataset.state = change.state;
  if (change.state === 'reconnecting') {
    stateText = `reconnecting in ${((change.delayMs ?? 0) / 1000).toFixed(1)} s (attempt ${change.attempt})`;
  } else {
    stateText = change.state === 'open' ? 'live' : change.state;
  }
  status.textContent = stateText;
}

function showFigures(): void {
  const now = performance.now();
  figures.rate.textContent = `${cameraRate.rate(now).toFixed(1)} /s`;
  figures.rateAll.textContent = `${allRate.rate(now).toFixed(1)} /s over ${client.knownCameras().length} camera(s)`;
  const [p50, p95, max] = latency.percentiles([50, 95, 100], now);
  figures.latency.textContent = p50 === null ? '–' : `p50 ${p50} ms · p95 ${p95} ms · max ${max} ms`;
  figures.seq.textContent = latest === null ? '–' : String(latest.seq);
  figures.position.textContent = latest === null ? '–' : `${latest.x.toFixed(2)}, ${latest.y.toFixed(2)} ×${latest.zoom.toFixed(3)}`;
  figures.target.textContent = latest === null ? '–' : `${latest.target_x.toFixed(2)}, ${latest.target_y.toFixed(2)} ×${latest.target_zoom.toFixed(3)}`;
  figures.tiles.textContent = tilesReceived === 0 ? '0' : `${tilesReceived}, last ${lastTile}`;
  figures.connections.textContent = `${client.connectionCount} (${Math.max(0, client.connectionCount - 1)} reconnections)`;
  if (client.state !== 'open') figures.encoding.textContent = `${encoding} (offered)`;
}

/** `?viewport=1920x1080`: the world area a camera shows at zoom 1. */
function parseViewport(value: string | null): { width: number; height: number } {
  const match = /^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)$/.exec(value ?? '');
  if (match !== null && Number(match[1]) > 0 && Number(match[2]) > 0) return { width: Number(match[1]), height: Number(match[2]) };
  return { width: 256, height: 144 };
}
