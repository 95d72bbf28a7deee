// The result screen: the live status of the run followed, then its headline, charts (one
// symbol at a time in a run of several), metrics, monthly returns, by-symbol table, paged trades
// and round trips, funding and log.
import { api, ApiError, followEvents } from "./api.js";
import { Charts, RunView } from "./charts.js";
import { editor, restoreForm } from "./form.js";
import { escapeHtml } from "./html.js";
import { $, symbolsOf, time } from "./util.js";

const charts = new Charts();
let view = null; // the three charts of the run shown
let current = null; // the run shown
let stopEvents = null; // stops following the run shown
let page = 0;
let sort = { key: "timestamp", dir: 1 };
const PAGE = 50;
/// Called when a followed run ends (the history refreshes): set by `initResult`.
let onFinished = () => {};

/// Sets the metric definitions (`GET /api/metrics`) and what to do when a followed run ends.
export function initResult(metrics, finished) {
  METRICS = metrics;
  onFinished = finished;
}

/// The metric definitions.
export function metricDefs() {
  return METRICS;
}

/// The run shown, if any.
export function currentRun() {
  return current;
}

// ---- live status --------------------------------------------------------------------------
function showStatus(id, status, percent, error) {
  $("status").hidden = false;
  $("status-id").textContent = id;
  $("status-text").textContent = status;
  $("status").dataset.status = status;
  $("progress").value = percent || 0;
  $("cancel").hidden = !(status === "queued" || status === "running");
  const box = $("status-error");
  if (error && error.error_code) {
    box.hidden = false;
    box.textContent = `${error.error_code}${error.error_line ? ` (line ${error.error_line})` : ""}: ${error.error_message}`;
  } else {
    box.hidden = true;
  }
}

export function follow(id) {
  if (stopEvents) stopEvents();
  showStatus(id, "queued", 0);
  stopEvents = followEvents(
    api.eventsUrl(id),
    (d) => showStatus(id, d.status, d.progress ? d.progress.percent : 100, null),
    async () => {
      await open(id);
      onFinished();
    },
  );
  $("cancel").onclick = () => api.cancel(id).catch(() => {});
}

// ---- results ------------------------------------------------------------------------------
// The metrics with their labels, groups, units and definitions, from GET /api/metrics (the same
// table as docs/metrics.md and the CLI summary).
let METRICS = [];

export function formatMetric(value, unit) {
  if (value === null || value === undefined) return "—";
  const n = Number(value);
  if (unit === "count") return String(n);
  if (unit === "percent") return `${n.toFixed(2)} %`;
  if (unit === "times") return `${n.toFixed(2)}x`;
  if (unit === "days") return `${n.toFixed(2)} days`;
  if (unit === "bars") return `${n.toFixed(1)} bars`;
  if (unit === "usdt") return n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return n.toFixed(3);
}

/// The tiles, grouped (returns, risk, trades, costs), each with its definition as tooltip.
/// Monthly returns from the equity curve: each UTC month's last equity over the previous month's
/// (the first month's over the initial capital), in percent.
function renderMonthly(full, initial) {
  const table = $("monthly");
  const ends = new Map();
  for (const [ms, v] of (full && full.equity) || []) ends.set(new Date(ms).toISOString().slice(0, 7), v);
  let previous = initial;
  const rows = [...ends.entries()].map(([month, equity]) => {
    const change = previous > 0 ? (equity / previous - 1) * 100 : null;
    previous = equity;
    return [month, equity, change];
  });
  table.querySelector("thead").innerHTML = "<tr><th>month (UTC)</th><th>equity at its end</th><th>return %</th></tr>";
  table.querySelector("tbody").innerHTML = rows
    .map(([month, equity, change]) => `<tr><td>${month}</td><td>${equity.toFixed(2)}</td><td class="${change > 0 ? "pos" : change < 0 ? "neg" : ""}">${change === null ? "—" : change.toFixed(2)}</td></tr>`)
    .join("");
  table.dataset.months = String(rows.length);
}

/// A run of several symbols: each symbol's round trips, win rate, profit factor, net P&L, fees,
/// funding and ambiguous bars (metrics.json's by_symbol).
function renderBySymbol(run) {
  const by = (run.metrics && run.metrics.by_symbol) || null;
  $("by-symbol-wrap").hidden = !by;
  if (!by) return;
  const num = (v, digits = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
  const table = $("by-symbol");
  table.querySelector("thead").innerHTML = "<tr><th>symbol</th><th>round trips</th><th>win rate %</th><th>profit factor</th><th>net P&amp;L</th><th>fees</th><th>funding</th><th>ambiguous bars</th></tr>";
  table.querySelector("tbody").innerHTML = Object.entries(by)
    .map(([symbol, m]) => `<tr data-symbol="${escapeHtml(symbol)}"><td>${escapeHtml(symbol)}</td><td>${m.round_trips}</td><td>${num(m.win_rate, 1)}</td><td>${num(m.profit_factor)}</td><td class="${m.net_pnl > 0 ? "pos" : m.net_pnl < 0 ? "neg" : ""}">${num(m.net_pnl)}</td><td>${num(m.total_fees)}</td><td>${num(m.funding, 4)}</td><td>${m.ambiguous_bars}</td></tr>`)
    .join("");
}

/// The answer first, under the title: return against buy and hold, Sharpe, drawdown, round trips,
/// win rate, fees; a position still open at the end; a warning on ratios of a ruined run.
function renderHeadline(run) {
  const m = run.metrics || {};
  const num = (v, digits = 2, unit = "") => (v === null || v === undefined ? "—" : `${Number(v).toFixed(digits)}${unit}`);
  const items = [
    ["Return", num(m.total_return, 2, " %"), "total_return"],
    ["Buy & hold", num(m.benchmark_return, 2, " %"), "benchmark_return"],
    ["Sharpe", num(m.sharpe_ratio), "sharpe_ratio"],
    ["Max drawdown", num(m.max_drawdown, 2, " %"), "max_drawdown"],
    ["Round trips", num(m.round_trips, 0), "round_trips"],
    ["Win rate", num(m.win_rate, 1, " %"), "win_rate"],
    ["Fees", num(m.total_fees), "total_fees"],
  ];
  $("headline").innerHTML = items.map(([label, value, key]) => `<div data-headline="${key}"><dt>${label}</dt><dd class="${key === "total_return" && Number(m.total_return) < 0 ? "neg" : ""}">${value}</dd></div>`).join("");
  const open = run.open_positions || [];
  $("open-position").hidden = open.length === 0;
  $("open-position").textContent = open.length
    ? `Open at the end: ${open.map((p) => `${p.symbol} ${Number(p.size) > 0 ? "long" : "short"} ${Math.abs(Number(p.size))} from ${Number(p.entry_price).toFixed(2)}, unrealized ${Number(p.unrealized_pnl).toFixed(2)} USDT`).join("; ")}. It is in the return and the equity, not in the round-trip metrics (round trips, win rate, expectancy).`
    : "";
  const initial = Number(run.config.initial_capital);
  const ruined = m.final_equity !== null && m.final_equity !== undefined && Number(m.final_equity) < initial / 2;
  $("ratio-warning").hidden = !ruined;
  $("ratio-warning").textContent = ruined
    ? `This run lost ${(100 - (100 * Number(m.final_equity)) / initial).toFixed(0)} % of its capital: Sharpe and Sortino measure the daily returns against their spread and can look mild for a ruined account; read the return and the drawdown first.`
    : "";
}

function renderMetrics(el, metrics) {
  const groups = [];
  for (const m of METRICS) {
    if (!groups.length || groups[groups.length - 1].name !== m.group) groups.push({ name: m.group, items: [] });
    groups[groups.length - 1].items.push(m);
  }
  el.innerHTML = groups
    .map((g) => `<div class="metric-group" data-group="${g.name}"><h4>${g.name[0].toUpperCase()}${g.name.slice(1)}</h4><dl class="metrics">${g.items
      .map((m) => {
        const v = metrics ? metrics[m.key] : null;
        let label = m.label;
        let shown = v;
        if (m.key === "total_funding" && v !== null && v !== undefined && Number(v) !== 0) {
          label = Number(v) < 0 ? "Funding paid" : "Funding received";
          shown = Math.abs(Number(v));
        }
        const raw = v === null || v === undefined ? "" : v;
        return `<div title="${escapeHtml(m.definition)}"><dt>${label}</dt><dd data-metric="${m.key}" data-raw="${raw}" data-definition="${escapeHtml(m.definition)}">${formatMetric(shown, m.unit)}</dd></div>`;
      })
      .join("")}</dl></div>`)
    .join("");
}

const TRADE_COLUMNS = ["timestamp", "action", "order_type", "quantity", "price", "leverage", "fee", "position_type", "pnl", "tag"];

/// What a fill did: buy to open, sell to close, sell to open (a short), buy to close, liquidation.
function fillLabel(t) {
  if (t.action === "liquidation") return "liquidation";
  const opens = (t.action === "buy") === (t.position_type === "long");
  return `${t.action} to ${opens ? "open" : "close"}`;
}

/// Fills the server sends a page, and the trades table's window into them: the table pages
/// through the run's `trades_total` fills, fetching the server page that holds the rows shown.
const SERVER_PAGE = 5000;
let tradeRows = { page: 1, rows: [] };

/// Binance's price tick and quantity step (as decimal places) by market and symbol: prices and
/// sizes are shown at them; the files and the API keep the exact values.
const FILTERS = {
  "spot BTCUSDT": { tick: 2, step: 5 },
  "spot ETHUSDT": { tick: 2, step: 4 },
  "futures BTCUSDT": { tick: 1, step: 3 },
  "futures ETHUSDT": { tick: 2, step: 3 },
};

/// `value` at the current run's tick (`kind` "price") or step (`kind` "size").
function atFilter(value, kind) {
  const f = (current && FILTERS[`${current.config.trading_mode} ${current.config.symbol}`]) || { tick: 2, step: 6 };
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(kind === "price" ? f.tick : f.step) : String(value);
}

async function renderTrades() {
  if (!current) return;
  const total = current.trades_total ?? (current.trades || []).length;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  page = Math.max(0, Math.min(page, pages - 1));
  const serverPage = Math.floor((page * PAGE) / SERVER_PAGE) + 1;
  if (serverPage === 1) {
    tradeRows = { page: 1, rows: current.trades || [] };
  } else if (tradeRows.page !== serverPage || tradeRows.id !== current.backtest_id) {
    const answer = await api.tradesPage(current.backtest_id, serverPage, SERVER_PAGE);
    tradeRows = { page: serverPage, rows: answer.trades || [], id: current.backtest_id };
  }
  tradeRows.id = current.backtest_id;
  // Sorting orders the rows of the server page shown; the files keep them all in time order.
  const trades = [...tradeRows.rows];
  const { key, dir } = sort;
  trades.sort((x, y) => {
    const a1 = x[key], b1 = y[key];
    const nx = Number(a1), ny = Number(b1);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : String(a1).localeCompare(String(b1));
    return c * dir;
  });
  const offset = page * PAGE - (serverPage - 1) * SERVER_PAGE;
  const rows = trades.slice(offset, offset + PAGE);
  const table = $("trades");
  table.querySelector("thead").innerHTML =
    "<tr>" + TRADE_COLUMNS.map((c) => `<th data-key="${c}">${c}${c === key ? (dir > 0 ? " ▲" : " ▼") : ""}</th>`).join("") + "</tr>";
  table.querySelector("tbody").innerHTML = rows
    .map((t) => {
      const pnl = Number(t.pnl);
      const tag = t.tag ? escapeHtml(t.tag) : "";
      const amb = t.ambiguous ? ' <span class="amb" title="filled in an ambiguous bar: the order of the high and the low decided it">≈</span>' : "";
      return `<tr><td>${time(t.timestamp)}${amb}</td><td>${fillLabel(t)}</td><td>${t.order_type || "market"}</td><td title="${t.quantity}">${atFilter(t.quantity, "size")}</td><td title="${t.price}">${atFilter(t.price, "price")}</td><td>${Number(t.leverage).toFixed(2)}</td><td>${Number(t.fee).toFixed(4)}</td><td>${t.position_type}</td><td class="${pnl > 0 ? "pos" : pnl < 0 ? "neg" : ""}">${pnl.toFixed(2)}</td><td>${tag}</td></tr>`;
    })
    .join("");
  table.dataset.rows = String(total);
  $("page").textContent = `${page + 1} / ${pages}`;
}
// ---- round trips --------------------------------------------------------------------------
const TRIP_COLUMNS = ["symbol", "entry_time", "exit_time", "side", "max_size", "entry_price", "exit_price", "fees", "funding", "pnl", "return_pct", "bars_held", "exit_reason", "tag", "ambiguous"];
let tripPage = 0;
let tripSort = { key: "exit_time", dir: 1 };

/// The round-trip table pages through all the run's round trips (`round_trips_total`), fetching
/// the server page that holds the rows shown, as the trades table does.
let tripRows = { page: 1, rows: [] };

async function renderTrips() {
  if (!current) return;
  const total = current.round_trips_total ?? (current.round_trips || []).length;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  tripPage = Math.max(0, Math.min(tripPage, pages - 1));
  const serverPage = Math.floor((tripPage * PAGE) / SERVER_PAGE) + 1;
  if (serverPage === 1) {
    tripRows = { page: 1, rows: current.round_trips || [], id: current.backtest_id };
  } else if (tripRows.page !== serverPage || tripRows.id !== current.backtest_id) {
    const answer = await api.tripsPage(current.backtest_id, serverPage, SERVER_PAGE);
    tripRows = { page: serverPage, rows: answer.round_trips || [], id: current.backtest_id };
  }
  const percent = (r) => (100 * Number(r.pnl)) / (Number(r.entry_price) * Number(r.max_size));
  const trips = tripRows.rows.map((r) => ({ ...r, return_pct: percent(r) }));
  const { key, dir } = tripSort;
  trips.sort((a, b) => {
    const x = a[key], y = b[key];
    const nx = Number(x), ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : String(x).localeCompare(String(y));
    return c * dir;
  });
  const offset = tripPage * PAGE - (serverPage - 1) * SERVER_PAGE;
  const rows = trips.slice(offset, offset + PAGE);
  const table = $("round-trips");
  table.querySelector("thead").innerHTML =
    "<tr>" + TRIP_COLUMNS.map((c) => `<th data-key="${c}">${c.replaceAll("_", " ")}${c === key ? (dir > 0 ? " ▲" : " ▼") : ""}</th>`).join("") + "</tr>";
  const price = (p) => atFilter(p, "price");
  table.querySelector("tbody").innerHTML = rows
    .map((r) => {
      const pnl = Number(r.pnl);
      const tone = pnl > 0 ? "pos" : pnl < 0 ? "neg" : "";
      const flag = r.ambiguous ? '<span title="a fill of this round trip rested on the path rule (the nearer extreme first), not on the data">yes</span>' : "";
      return `<tr><td>${escapeHtml(r.symbol || current.config.symbol)}</td><td>${time(r.entry_time)}</td><td>${time(r.exit_time)}</td><td>${r.side}</td><td title="${r.max_size}">${atFilter(r.max_size, "size")}</td><td>${price(r.entry_price)}</td><td>${price(r.exit_price)}</td><td>${Number(r.fees).toFixed(4)}</td><td>${Number(r.funding).toFixed(4)}</td><td class="${tone}">${pnl.toFixed(2)}</td><td class="${tone}">${Number.isFinite(r.return_pct) ? r.return_pct.toFixed(2) : "—"}</td><td>${r.bars_held}</td><td>${r.exit_reason}</td><td>${escapeHtml(r.tag || "")}</td><td data-ambiguous="${r.ambiguous ? "true" : "false"}">${flag}</td></tr>`;
    })
    .join("") || `<tr><td colspan="${TRIP_COLUMNS.length}">none${current && current.open_at_end ? " finished (a position is still open at the end)" : ""}</td></tr>`;
  table.dataset.rows = String(total);
  $("trip-page").textContent = `${tripPage + 1} / ${pages}`;
}
$("round-trips").querySelector("thead").addEventListener("click", (e) => {
  const key = e.target.closest("th") && e.target.closest("th").dataset.key;
  if (!key) return;
  tripSort = { key, dir: tripSort.key === key ? -tripSort.dir : 1 };
  renderTrips();
});
$("trip-prev").addEventListener("click", () => { tripPage = Math.max(0, tripPage - 1); renderTrips(); });
$("trip-next").addEventListener("click", () => { tripPage += 1; renderTrips(); });

$("trades").querySelector("thead").addEventListener("click", (e) => {
  const key = e.target.closest("th") && e.target.closest("th").dataset.key;
  if (!key) return;
  sort = { key, dir: sort.key === key ? -sort.dir : 1 };
  renderTrades();
});
$("prev").addEventListener("click", () => { page = Math.max(0, page - 1); renderTrades(); });
$("next").addEventListener("click", () => { page += 1; renderTrades(); });
$("last").addEventListener("click", () => { page = Number.MAX_SAFE_INTEGER; renderTrades(); });

function renderFunding(run) {
  const table = $("funding");
  table.querySelector("thead").innerHTML = "<tr><th>time</th><th>rate</th><th>price</th><th>size</th><th>amount</th></tr>";
  table.querySelector("tbody").innerHTML = run.funding
    .map((f) => `<tr><td>${time(f.timestamp)}</td><td>${f.rate}</td><td>${atFilter(f.price, "price")}</td><td>${atFilter(f.position_size, "size")}</td><td class="${Number(f.amount) >= 0 ? "pos" : "neg"}">${Number(f.amount).toFixed(4)}</td></tr>`)
    .join("") || '<tr><td colspan="5">none</td></tr>';
}

export async function showResult(run) {
  current = run;
  $("results").hidden = false;
  $("result-title").textContent = `${run.backtest_id} · ${run.config.trading_mode} ${symbolsOf(run.config)} ${run.config.timeframe} · ${run.status}`;
  $("results").dataset.status = run.status;
  const unused = run.unused_params || [];
  $("params-warning").hidden = unused.length === 0;
  $("params-warning").textContent = unused.length
    ? `The strategy never read the param${unused.length === 1 ? "" : "s"} ${unused.join(", ")} (a typo?).`
    : "";
  const fallbacks = run.funding_fallbacks || 0;
  $("funding-warning").hidden = fallbacks === 0;
  $("funding-warning").textContent = fallbacks
    ? `${fallbacks} funding time${fallbacks === 1 ? " is" : "s are"} missing from the funding data and were settled at the configured rate (${run.config.funding_rate}).`
    : "";
  charts.clear();
  if (view) view.clear();
  const c = run.config;
  // The charts cover what the metrics cover: up to the last bar processed (the server's view).
  const covered = run.covered;
  $("coverage-note").hidden = !covered || covered.complete;
  $("coverage-note").textContent = covered && !covered.complete
    ? `The run stopped early (${run.status}): its metrics and charts cover only ${time(covered.first_bar)} to ${time(covered.last_bar)} UTC (${covered.bars} bars), not ${c.start_date} to ${c.end_date}.`
    : "";
  // A run of several symbols: the price chart shows one at a time (its fills and round trips);
  // equity and drawdown stay the portfolio's.
  const symbols = c.symbols || [c.symbol];
  $("chart-symbol-label").hidden = symbols.length < 2;
  $("chart-symbol").innerHTML = symbols.map((s) => `<option value="${s}">${s}</option>`).join("");
  $("chart-symbol").onchange = () => view && view.load();
  renderBySymbol(run);
  view = new RunView(
    { price: $("price-chart"), equity: $("equity-chart"), drawdown: $("drawdown-chart"), tip: $("tip") },
    (q) => api.chart(run.backtest_id, symbols.length > 1 ? { ...q, symbol: $("chart-symbol").value } : q),
    {
      initial: Number(c.initial_capital),
      onView: (v) => {
        const shown = v.fills.length < v.fills_total ? ` · ${v.fills.length} of ${v.fills_total} fills marked (zoom in for all)` : "";
        $("bucket-label").textContent = (v.aggregated
          ? `${v.bucket} candles (${c.timeframe} bars aggregated to fit; zoom in for finer ones)`
          : `${v.bucket} candles`) + shown;
        $("bucket-label").dataset.bucket = v.bucket;
        // What the charts show now, for people and tests: the range (whole buckets, in ms, the
        // end exclusive) and the fills in it against the markers drawn.
        const range = $("view-range");
        range.dataset.from = String(v.range_from);
        range.dataset.to = String(v.range_to);
        range.textContent = `${time(v.range_from)} – ${time(v.range_to)} UTC`;
        const inView = $("fills-in-view");
        inView.dataset.inView = String(v.fills_total);
        inView.dataset.marked = String(v.fills.length);
        inView.textContent = `${v.fills.length} of ${v.fills_total} fills in view marked`;
      },
    },
  );
  window.__view = view;
  $("whole-run").onclick = () => view.fit();
  view.logScale($("equity-log").checked);
  $("equity-log").onchange = () => view.logScale($("equity-log").checked);
  $("trades-total").textContent = String(run.trades_total ?? (run.trades || []).length);
  if (covered) {
    try {
      await view.load();
    } catch (e) {
      // A run without a chart view (no bars) has nothing to draw; anything else is a defect.
      if (e && !(e instanceof ApiError)) console.error(`chart view: ${e && e.stack}`);
    }
  }
  renderMetrics($("metrics"), run.metrics);
  renderHeadline(run);
  renderMonthly(view && view.full, Number(c.initial_capital));
  const ambiguous = run.ambiguous_bars || 0;
  $("ambiguous-note").hidden = ambiguous === 0;
  $("ambiguous-note").textContent = ambiguous
    ? `${ambiguous} bar${ambiguous === 1 ? "" : "s"} had an armed trigger both above and below the open: which filled first was decided by the path rule (the nearer extreme first), not by the data.${run.config.intrabar === "1m" ? "" : " Run with intrabar 1m to settle them with the 1m bars."}`
    : "";
  const orders = [];
  if (run.pending_at_end) orders.push(`${run.pending_at_end} pending order${run.pending_at_end === 1 ? "" : "s"} left at the end`);
  if (run.queued_at_end) orders.push(`${run.queued_at_end} queued order${run.queued_at_end === 1 ? "" : "s"} left at the end`);
  const refused = Object.entries(run.rejections || {});
  if (refused.length) orders.push("refused: " + refused.map(([k, n]) => `${k.replaceAll("_", " ")} ${n}`).join(", "));
  $("orders-note").hidden = orders.length === 0;
  $("orders-note").textContent = orders.join(" · ");
  page = 0;
  renderTrades();
  tripPage = 0;
  renderTrips();
  $("trips-csv").href = api.fileUrl(run.backtest_id, "round_trips.csv");
  $("report-link").href = `/api/backtest/${encodeURIComponent(run.backtest_id)}/report`;
  $("run-link").href = `#/runs/${run.backtest_id}`;
  renderFunding(run);
  $("trades-csv").href = api.fileUrl(run.backtest_id, "trades.csv");
  $("portfolio-csv").href = api.fileUrl(run.backtest_id, "portfolio.csv");
  $("run-json").href = api.fileUrl(run.backtest_id, "run.json");
  $("log").textContent = (run.log || []).join("\n");
  $("results").dataset.ready = run.backtest_id;
}

/// Opens run `id`; with `restore`, its code, form and params come back into the editor first
/// (a failed run's error is then marked in its own code).
export async function open(id, { restore = false } = {}) {
  const run = await api.get(id);
  if (restore) restoreForm(run);
  showStatus(id, run.status, run.progress ? run.progress.percent : 100, run);
  if (restore || !run.error_line) editor.mark(null);
  if (run.error_line && restore) editor.mark(run.error_line, run.error_message);
  await showResult(run);
  if (location.hash !== `#/runs/${id}`) history.replaceState(null, "", `#/runs/${id}`);
  $("results").scrollIntoView({ behavior: "smooth", block: "start" });
}

