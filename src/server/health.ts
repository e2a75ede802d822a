// GET /healthz (PROTOCOL.md section 8): 200 while the store can be read, 503 when it cannot;
// GET /readyz: whether the service has started and is not stopping.
export type StoreState = 'ok' | 'unavailable';

export interface HealthSource {
  startedAt: number;
  clients(): number;
  cameras(): number;
  lastUpdateAt(): number;
  store(): { state: StoreState; error: string | null };
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  uptime_s: number;
  clients: number;
  cameras: number;
  last_update_age_ms: number | null;
  store: StoreState;
  store_error?: string;
}

export function healthReport(source: HealthSource, now: number): { httpStatus: number; body: HealthReport } {
  const store = source.store();
  const last = source.lastUpdateAt();
  const body: HealthReport = {
    status: store.state === 'ok' ? 'ok' : 'unavailable',
    uptime_s: Math.round((now - source.startedAt) / 1000),
    clients: source.clients(),
    cameras: source.cameras(),
    last_update_age_ms: last === 0 ? null : now - last,
    store: store.state,
  };
  if (store.error !== null) body.store_error = store.error;
  return { httpStatus: store.state === 'ok' ? 200 : 503, body };
}

/** GET /readyz: ready once the store is open and the snapshot loaded, until shutdown begins. */
export type Readiness = 'starting' | 'ready' | 'stopping';

export function readinessReport(state: Readiness): { httpStatus: number; body: { status: Readiness } } {
  return { httpStatus: state === 'ready' ? 200 : 503, body: { status: state } };
}
