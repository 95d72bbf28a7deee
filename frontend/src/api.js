// Thin wrappers over the JSON API; every failure becomes an Error carrying the API's body.

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function request(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  symbols: () => request("GET", "/api/data/symbols"),
  examples: () => request("GET", "/api/strategies/examples"),
  metrics: () => request("GET", "/api/metrics"),
  validate: (code) => request("POST", "/api/strategy/validate", { strategy_code: code }),
  submit: (body) => request("POST", "/api/backtest", body),
  get: (id) => request("GET", `/api/backtest/${encodeURIComponent(id)}`),
  /// One server page of a run's fills (`trades`, `trades_total`).
  tripsPage: (id, page, size) =>
    request("GET", `/api/backtest/${encodeURIComponent(id)}?page_size=1&trips_page=${page}&trips_page_size=${size}`),
  tradesPage: (id, page, size) =>
    request("GET", `/api/backtest/${encodeURIComponent(id)}?page=${page}&page_size=${size}&trips_page_size=1`),
  cancel: (id) => request("POST", `/api/backtest/${encodeURIComponent(id)}/cancel`),
  remove: (id) => request("DELETE", `/api/backtest/${encodeURIComponent(id)}`),
  history: (q = {}) => {
    const p = new URLSearchParams({ page: String(q.page || 1), page_size: String(q.size || 20) });
    for (const k of ["sort", "order", "q", "status", "symbol", "trading_mode", "timeframe"]) if (q[k]) p.set(k, q[k]);
    return request("GET", `/api/backtests?${p}`);
  },
  prices: (q) =>
    request(
      "GET",
      `/api/data/history?symbol=${q.symbol}&timeframe=${q.timeframe}&trading_mode=${q.mode}` +
        `&start_date=${q.start}&end_date=${q.end}&limit=100000`,
    ),
  chart: (id, q = {}) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
    return request("GET", `/api/backtest/${encodeURIComponent(id)}/chart?${p}`);
  },
  sweep: (body) => request("POST", "/api/sweeps", body),
  sweeps: () => request("GET", "/api/sweeps"),
  sweepGet: (id, q = {}) => {
    const p = new URLSearchParams();
    for (const k of ["sort", "order", "page", "page_size"]) if (q[k]) p.set(k, String(q[k]));
    if (q.size) p.set("page_size", String(q.size));
    return request("GET", `/api/sweeps/${encodeURIComponent(id)}?${p}`);
  },
  sweepHeatmap: (id, q) => request("GET", `/api/sweeps/${encodeURIComponent(id)}/heatmap?${new URLSearchParams(q)}`),
  sweepCancel: (id) => request("POST", `/api/sweeps/${encodeURIComponent(id)}/cancel`),
  sweepDelete: (id) => request("DELETE", `/api/sweeps/${encodeURIComponent(id)}`),
  sweepMemberRun: (id, index) => request("POST", `/api/sweeps/${encodeURIComponent(id)}/members/${index}/run`),
  sweepEventsUrl: (id) => `/api/sweeps/${encodeURIComponent(id)}/events`,
  sweepFileUrl: (id, name) => `/api/sweeps/${encodeURIComponent(id)}/files/${name}`,
  eventsUrl: (id) => `/api/backtest/${encodeURIComponent(id)}/events`,
  fileUrl: (id, name) => `/api/backtest/${encodeURIComponent(id)}/files/${name}`,
};

// Follows a run's or a sweep's event stream: `onUpdate(data)` at each progress and status event,
// then `onEnd()` once, when the final status arrives or the stream fails. Returns a function that
// stops following (without calling `onEnd`).
export function followEvents(url, onUpdate, onEnd) {
  let source = new EventSource(url);
  const stop = () => {
    if (!source) return false;
    source.close();
    source = null;
    return true;
  };
  const onEvent = (ev) => onUpdate(JSON.parse(ev.data));
  source.addEventListener("progress", onEvent);
  source.addEventListener("status", (ev) => {
    onEvent(ev);
    if (stop()) onEnd();
  });
  source.onerror = () => {
    if (stop()) onEnd();
  };
  return stop;
}
