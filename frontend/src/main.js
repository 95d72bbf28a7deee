// The page: editor, run form, live status over Server-Sent Events, results (charts, metrics,
// trades, funding, log), run history with reopen, delete and compare.
import { api, ApiError, followEvents } from "./api.js";
import { createEditor } from "./editor.js";
import { Charts, RunView } from "./charts.js";
import { initSweeps, openSweep } from "./sweeps.js";
import { escapeHtml } from "./html.js";

const $ = (id) => document.getElementById(id);
const charts = new Charts();
let compareCharts = new Charts();
let view = null; // the three charts of the run shown
let datasets = [];
let limits = {};
let current = null; // the run shown
let stopEvents = null; // stops following the run shown
let page = 0;
let sort = { key: "timestamp", dir: 1 };
const PAGE = 50;

// ---- theme --------------------------------------------------------------------------------
const savedTheme = localStorage.getItem("cryptobt.theme");
document.documentElement.dataset.theme =
  savedTheme || (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
$("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("cryptobt.theme", next);
  editor.setDark(next === "dark");
  if (current) showResult(current);
});

// ---- editor -------------------------------------------------------------------------------
let loadedExample = null;
const editor = createEditor($("editor"), {
  onRun: () => $("run-form").requestSubmit(),
  onChange: () => {
    if (!editor) return;
    editor.mark(null);
    // The example selector names what is loaded only until the code is replaced.
    if ($("examples").value && editor.code() !== loadedExample) $("examples").value = "";
    // A Check answer is about the code it checked: it goes when the code changes.
    $("validation").textContent = "";
    $("validation").className = "note";
  },
});
window.__cryptobt = { editor };
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
    e.preventDefault();
    $("run-form").requestSubmit();
  }
});

async function check() {
  const note = $("validation");
  try {
    const v = await api.validate(editor.code());
    if (v.valid) {
      note.textContent = "✓ the strategy loads";
      note.className = "note";
      editor.mark(null);
    } else {
      note.textContent = `${v.error_code}${v.line ? ` (line ${v.line})` : ""}: ${v.message}`;
      note.className = "note bad";
      editor.mark(v.line || 1, v.message);
    }
    return v.valid;
  } catch (e) {
    note.textContent = e.message;
    note.className = "note bad";
    return false;
  }
}
$("validate").addEventListener("click", check);

// ---- form ---------------------------------------------------------------------------------
function setOptions(select, values, keep) {
  const old = keep ? select.value : null;
  select.innerHTML = values.map((v) => `<option value="${v}">${v}</option>`).join("");
  if (old && values.includes(old)) select.value = old;
}

function updateDates(e) {
  let mode = $("f-mode").value;
  const symbol = $("f-symbol").value;
  // Only what the data has: a symbol picked in a market without it switches to one with it.
  if (!datasets.some((d) => d.trading_mode === mode && d.symbol === symbol)) {
    const other = datasets.find((d) => d.symbol === symbol);
    if (other && !(e && e.target && e.target.id === "f-mode")) {
      $("f-mode").value = other.trading_mode;
      mode = other.trading_mode;
    } else if (e && e.target && e.target.id === "f-mode") {
      const first = datasets.find((d) => d.trading_mode === mode);
      if (first) $("f-symbol").value = first.symbol;
    }
  }
  const tfs = [...new Set(datasets.filter((d) => d.trading_mode === mode && d.symbol === $("f-symbol").value).map((d) => d.timeframe))];
  setOptions($("f-timeframe"), tfs, true);
  const set = datasets.find((d) => d.trading_mode === mode && d.symbol === $("f-symbol").value && d.timeframe === $("f-timeframe").value);
  for (const id of ["f-start", "f-end"]) {
    $(id).min = set ? set.first_day : "";
    $(id).max = set ? set.last_day : "";
  }
  if (set) {
    if (!$("f-start").value || $("f-start").value < set.first_day || $("f-start").value > set.last_day) $("f-start").value = set.first_day;
    if (!$("f-end").value || $("f-end").value > set.last_day || $("f-end").value < set.first_day) $("f-end").value = set.last_day;
  }
  if (mode === "spot") $("f-leverage").value = "1";
  // More symbols: those the data has in this market and timeframe, other than the primary.
  const primary = $("f-symbol").value;
  const chosen = new Set([...$("f-more").selectedOptions].map((o) => o.value));
  const others = [...new Set(datasets.filter((d) => d.trading_mode === mode && d.timeframe === $("f-timeframe").value && d.symbol !== primary).map((d) => d.symbol))];
  $("f-more").innerHTML = others.map((s) => `<option value="${s}"${chosen.has(s) ? " selected" : ""}>${s}</option>`).join("");
}

function clearErrors() {
  document.querySelectorAll(".err").forEach((e) => (e.textContent = ""));
  document.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}

function fieldError(field, message) {
  const slot = document.querySelector(`.err[data-for="${field}"]`) || document.querySelector('.err[data-for="form"]');
  slot.textContent = message;
  const input = document.querySelector(`[name="${field}"]`);
  if (input) input.classList.add("invalid");
}

/// The request body, or null with the bad fields flagged.
function readForm() {
  clearErrors();
  const f = $("run-form");
  const value = (name) => f.elements[name].value.trim();
  const body = {
    strategy_code: editor.code(),
    symbol: value("symbol"),
    timeframe: value("timeframe"),
    trading_mode: value("trading_mode"),
    start_date: value("start_date"),
    end_date: value("end_date"),
    fill: value("fill"),
    intrabar: value("intrabar"),
  };
  const more = [...$("f-more").selectedOptions].map((o) => o.value);
  if (more.length) {
    body.symbols = [body.symbol, ...more];
    delete body.symbol;
  }
  let ok = true;
  const bad = (field, message) => {
    fieldError(field, message);
    ok = false;
  };
  const num = (name, { min, max, optional, minExclusive } = {}) => {
    const raw = value(name);
    if (raw === "") {
      if (!optional) bad(name, "required");
      return;
    }
    const n = Number(raw);
    if (!Number.isFinite(n)) return bad(name, "not a number");
    if (minExclusive !== undefined && n <= minExclusive) return bad(name, `must be greater than ${minExclusive}`);
    if (min !== undefined && n < min) return bad(name, `must be at least ${min}`);
    if (max !== undefined && n > max) return bad(name, `must be at most ${max}`);
    body[name] = n;
  };
  // Every range comes from the server (GET /api/data/symbols → limits), never a copy here.
  const range = (name) => {
    const r = limits[name] || {};
    const n = (v) => (v === null || v === undefined ? undefined : Number(v));
    return { min: n(r.min), minExclusive: n(r.min_exclusive), max: n(r.max) };
  };
  num("initial_capital", range("initial_capital"));
  const lev = range("max_leverage");
  num("max_leverage", body.trading_mode === "spot" ? { min: 1, max: 1 } : lev);
  num("maintenance_margin_rate", range("maintenance_margin_rate"));
  num("fee", { ...range("fee"), optional: true });
  num("maker_fee", { ...range("maker_fee"), optional: true });
  num("slippage_bps", range("slippage_bps"));
  num("funding_rate", range("funding_rate"));
  if (!body.start_date) bad("start_date", "required");
  if (!body.end_date) bad("end_date", "required");
  const start = $("f-start"), end = $("f-end");
  if (body.start_date && start.min && (body.start_date < start.min || body.start_date > start.max)) bad("start_date", `data covers ${start.min} to ${start.max}`);
  if (body.end_date && end.max && (body.end_date > end.max || body.end_date < end.min)) bad("end_date", `data covers ${end.min} to ${end.max}`);
  if (body.start_date && body.end_date && body.end_date < body.start_date) bad("end_date", "must not be before the start");
  const params = {};
  for (const line of value("params").split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) {
      bad("params", `"${line}" is not name=value`);
      continue;
    }
    const name = line.slice(0, at).trim();
    const raw = line.slice(at + 1).trim();
    params[name] = raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  if (Object.keys(params).length) body.params = params;
  if (!body.strategy_code.trim()) bad("strategy_code", "the strategy is empty");
  return ok ? body : null;
}

$("f-mode").addEventListener("change", updateDates);
$("f-symbol").addEventListener("change", updateDates);
$("f-timeframe").addEventListener("change", updateDates);

$("run-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = readForm();
  if (!body) return;
  $("run").disabled = true;
  try {
    const answer = await api.submit(body);
    follow(answer.backtest_id);
  } catch (err) {
    if (err instanceof ApiError) {
      const field = err.body.details && err.body.details.field;
      fieldError(field || "form", err.message);
    } else {
      fieldError("form", err.message);
    }
  } finally {
    $("run").disabled = false;
  }
});

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

function follow(id) {
  if (stopEvents) stopEvents();
  showStatus(id, "queued", 0);
  stopEvents = followEvents(
    api.eventsUrl(id),
    (d) => showStatus(id, d.status, d.progress ? d.progress.percent : 100, null),
    async () => {
      await open(id);
      loadHistory();
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

/// The run's symbols as text: `BTCUSDT` or `BTCUSDT+ETHUSDT`.
function symbolsOf(config) {
  return (config.symbols || [config.symbol]).join("+");
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

function time(ms) {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16);
}

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

async function showResult(run) {
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
async function open(id, { restore = false } = {}) {
  const run = await api.get(id);
  if (restore) restoreForm(run);
  showStatus(id, run.status, run.progress ? run.progress.percent : 100, run);
  if (restore || !run.error_line) editor.mark(null);
  if (run.error_line && restore) editor.mark(run.error_line, run.error_message);
  await showResult(run);
  if (location.hash !== `#/runs/${id}`) history.replaceState(null, "", `#/runs/${id}`);
  $("results").scrollIntoView({ behavior: "smooth", block: "start" });
}

/// Puts a run's code, settings and params back into the editor and the form.
function restoreForm(run) {
  const c = run.config;
  editor.setCode(c.strategy_code || "");
  const set = (id, v) => {
    if (v !== undefined && v !== null && $(id)) $(id).value = String(v);
  };
  set("f-mode", c.trading_mode);
  updateDates();
  set("f-symbol", c.symbol);
  updateDates();
  set("f-timeframe", c.timeframe);
  updateDates();
  const more = new Set((c.symbols || []).slice(1));
  for (const o of $("f-more").options) o.selected = more.has(o.value);
  set("f-start", c.start_date);
  set("f-end", c.end_date);
  const f = $("run-form");
  const field = (name, v) => {
    if (f.elements[name] && v !== undefined && v !== null) f.elements[name].value = String(v);
  };
  field("initial_capital", c.initial_capital);
  field("max_leverage", c.max_leverage);
  field("maintenance_margin_rate", c.maintenance_margin_rate);
  field("fee", c.fee);
  field("maker_fee", c.maker_fee);
  field("slippage_bps", c.slippage_bps);
  field("fill", c.fill);
  field("intrabar", c.intrabar || "bar");
  field("funding_rate", c.funding_rate);
  field("params", paramsText(c.params).split(" ").filter(Boolean).join("\n"));
}

// ---- history ------------------------------------------------------------------------------
// The history: filtered, sorted and paged by the server (GET /api/backtests).
const HISTORY_COLUMNS = [
  ["name", "strategy"], ["symbol", "market"], ["range", "range", false], ["params", "params", false],
  ["status", "status"], ["total_return", "return"], ["sharpe_ratio", "Sharpe"], ["created_at", "created"],
];
let historyState = { page: 1, size: 20, sort: "created_at", order: "desc" };
let undoTimer = null;

function paramsText(params) {
  return Object.entries(params || {}).map(([k, v]) => `${k}=${v}`).join(" ");
}

function runLabel(r) {
  const params = paramsText(r.config ? r.config.params : r.params);
  const name = r.name || (r.config && r.config.name) || r.backtest_id.slice(-6);
  return params ? `${name} (${params})` : name;
}

async function loadHistory() {
  const q = {
    ...historyState,
    q: $("h-q").value.trim() || undefined,
    status: $("h-status").value || undefined,
    symbol: $("h-symbol").value || undefined,
  };
  const list = await api.history(q);
  const { sort, order } = historyState;
  $("history").querySelector("thead").innerHTML =
    "<tr><th></th>" +
    HISTORY_COLUMNS.map(([key, label, sortable]) => sortable === false ? `<th>${label}</th>` : `<th data-sort="${key}">${label}${key === sort ? (order === "asc" ? " ▲" : " ▼") : ""}</th>`).join("") +
    "<th></th></tr>";
  const body = $("history").querySelector("tbody");
  const pct = (v) => (v === null || v === undefined ? "—" : `${Number(v).toFixed(2)} %`);
  const num = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(2));
  body.innerHTML = list.items
    .map(
      (r) => `<tr data-id="${r.backtest_id}"><td><input type="checkbox" class="pick" aria-label="compare ${r.backtest_id}"${picked.has(r.backtest_id) ? " checked" : ""}></td>
        <td><a href="#/runs/${r.backtest_id}" class="run-link" title="${r.backtest_id}">${escapeHtml(r.name || "untitled")}</a></td>
        <td>${r.trading_mode} ${symbolsOf(r)} ${r.timeframe}</td><td>${r.start_date} → ${r.end_date}</td>
        <td class="mono">${escapeHtml(paramsText(r.params))}</td>
        <td>${r.status}${r.error_code ? ` (${r.error_code})` : ""}</td>
        <td class="${Number(r.total_return) > 0 ? "pos" : Number(r.total_return) < 0 ? "neg" : ""}">${pct(r.total_return)}</td><td>${num(r.sharpe_ratio)}</td>
        <td>${r.created_at.replace("T", " ").slice(0, 16)}</td>
        <td><button type="button" class="ghost reopen">Open</button> <button type="button" class="ghost delete">Delete</button></td></tr>`,
    )
    .join("") || `<tr><td colspan="10">${list.total === 0 && !q.q && !q.status && !q.symbol ? "No runs yet." : "No run matches."}</td></tr>`;
  const pages = Math.max(1, Math.ceil(list.total / historyState.size));
  $("h-page").textContent = `${historyState.page} / ${pages} (${list.total} runs)`;
  $("history").dataset.count = String(list.items.length);
  $("history").dataset.total = String(list.total);
  $("history").dataset.pages = String(pages);
}
$("history").querySelector("thead").addEventListener("click", (e) => {
  const th = e.target.closest("th");
  if (!th || !th.dataset.sort) return;
  const key = th.dataset.sort;
  historyState = { ...historyState, page: 1, sort: key, order: historyState.sort === key && historyState.order === "desc" ? "asc" : "desc" };
  loadHistory();
});
let filterTimer = null;
for (const id of ["h-q", "h-status", "h-symbol"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { historyState.page = 1; loadHistory(); }, 200);
  });
}
$("h-prev").addEventListener("click", () => { historyState.page = Math.max(1, historyState.page - 1); loadHistory(); });
$("h-next").addEventListener("click", () => {
  const pages = Number($("history").dataset.pages || 1);
  historyState.page = Math.min(pages, historyState.page + 1);
  loadHistory();
});
$("history").addEventListener("click", async (e) => {
  const row = e.target.closest("tr");
  if (!row || !row.dataset.id) return;
  if (e.target.classList.contains("reopen")) await open(row.dataset.id, { restore: true });
  if (e.target.classList.contains("delete")) {
    // Deleted after a few seconds unless undone: the row is hidden at once.
    const id = row.dataset.id;
    row.hidden = true;
    clearTimeout(undoTimer);
    $("undo").hidden = false;
    $("undo").dataset.id = id;
    undoTimer = setTimeout(async () => {
      $("undo").hidden = true;
      await api.remove(id).catch((err) => historyMessage(err.message));
      await loadHistory();
    }, 5000);
  }
});
$("undo-button").addEventListener("click", () => {
  clearTimeout(undoTimer);
  $("undo").hidden = true;
  const row = document.querySelector(`#history tr[data-id="${$("undo").dataset.id}"]`);
  if (row) row.hidden = false;
});
$("refresh").addEventListener("click", loadHistory);

/// Runs picked for a comparison, kept across filtering, sorting and paging of the history.
const picked = new Set();
$("history").addEventListener("change", (e) => {
  const box = e.target.closest(".pick");
  if (!box) return;
  const id = box.closest("tr").dataset.id;
  if (box.checked) picked.add(id);
  else picked.delete(id);
});

/// A message under the history (no alert box): what a compare or a delete needs or what failed.
function historyMessage(text) {
  $("history-message").textContent = text;
  $("history-message").hidden = !text;
}
$("compare").addEventListener("click", async () => {
  const ids = [...picked];
  if (ids.length < 2 || ids.length > 5) return historyMessage("Select two to five runs to compare.");
  historyMessage("");
  const names = new Map([...document.querySelectorAll("#history .pick:checked")].map((c) => {
    const tr = c.closest("tr");
    return [tr.dataset.id, tr.querySelector(".run-link").textContent];
  }));
  const runs = await Promise.all(ids.map((id) => api.get(id)));
  for (const r of runs) r.name = names.get(r.backtest_id);
  $("comparison").hidden = false;
  compareCharts.clear();
  compareCharts = new Charts();
  compareCharts.compare($("compare-chart"), runs.map((r) => ({ ...r, label: runLabel(r) })));
  // The better value of each metric is marked (higher is better but for drawdowns, fees, losses).
  const lowerIsBetter = new Set(["max_drawdown_duration_days", "volatility", "annualized_volatility", "total_fees", "liquidations", "liquidation_losses", "max_consecutive_losses", "ambiguous_bars"]);
  const neutral = new Set(["total_trades", "round_trips", "avg_bars_held", "exposure", "avg_leverage", "max_leverage", "benchmark_return", "final_equity"]);
  $("compare-table").innerHTML =
    `<tr><th>metric</th>${runs.map((r) => `<th class="run-label">${escapeHtml(runLabel(r))}<br><span class="muted small">${escapeHtml(`${r.config.trading_mode} ${symbolsOf(r.config)} ${r.config.timeframe} · ${r.config.start_date} → ${r.config.end_date}`)}</span></th>`).join("")}</tr>` +
    METRICS.map((m) => {
      const values = runs.map((r) => (r.metrics ? r.metrics[m.key] : null));
      const numbers = values.filter((v) => v !== null && v !== undefined).map(Number);
      let best = null;
      if (numbers.length > 1 && !neutral.has(m.key)) best = lowerIsBetter.has(m.key) ? Math.min(...numbers) : Math.max(...numbers);
      return `<tr><td title="${escapeHtml(m.definition)}">${m.label}</td>${values.map((v) => `<td${best !== null && v !== null && Number(v) === best ? ' class="best" data-best="true"' : ""}>${formatMetric(v, m.unit)}</td>`).join("")}</tr>`;
    }).join("");
});

// ---- start --------------------------------------------------------------------------------
async function start() {
  const [symbols, examples, metrics] = await Promise.all([api.symbols(), api.examples(), api.metrics()]);
  METRICS = metrics.metrics;
  datasets = symbols.datasets;
  limits = symbols.limits || {};
  setOptions($("f-symbol"), symbols.symbols, false);
  const first = datasets.find((d) => d.timeframe === "1h") || datasets[0];
  if (first) {
    $("f-symbol").value = first.symbol;
    $("f-mode").value = first.trading_mode;
  }
  updateDates();
  if (first && [...$("f-timeframe").options].some((o) => o.value === "1h")) $("f-timeframe").value = "1h";
  updateDates();
  const select = $("examples");
  for (const ex of examples.examples) {
    const o = document.createElement("option");
    o.value = ex.name;
    o.textContent = ex.title;
    select.appendChild(o);
  }
  select.addEventListener("change", () => {
    const ex = examples.examples.find((x) => x.name === select.value);
    if (ex) {
      loadedExample = ex.code;
      editor.setCode(ex.code);
      editor.mark(null);
      const mode = /--mode futures/.test(ex.code) ? "futures" : "spot";
      $("f-mode").value = mode;
      // An example that names its symbols (`--symbol BTCUSDT,ETHUSDT`) or timeframe gets them.
      const symbols = ex.code.match(/--symbol ([A-Z0-9,]+)/);
      const timeframe = ex.code.match(/--timeframe (\w+)/);
      if (symbols) $("f-symbol").value = symbols[1].split(",")[0];
      updateDates();
      if (timeframe) {
        $("f-timeframe").value = timeframe[1];
        updateDates();
      }
      if (symbols) {
        const more = new Set(symbols[1].split(",").slice(1));
        for (const o of $("f-more").options) o.selected = more.has(o.value);
      }
      if (mode === "futures") {
        const lev = ex.code.match(/--max-leverage (\d+)/);
        if (lev) $("f-leverage").value = lev[1];
      }
    }
  });
  setOptions($("h-symbol"), ["", ...symbols.symbols], false);
  $("h-symbol").options[0].textContent = "any symbol";
  await loadHistory();
  initSweeps({
    readForm,
    follow,
    restoreForm,
    setParams: (params) => {
      $("run-form").elements.params.value = paramsText(params).split(" ").filter(Boolean).join("\n");
    },
    metrics: () => METRICS,
    code: () => editor.code(),
  });
  // A link to a sweep (`#/sweeps/{id}`) opens it.
  const sweepLink = (hash) => hash.match(/^#\/sweeps\/(sw_[0-9]{8}_[0-9]{6}_[a-z0-9]{6})$/);
  const linkedSweep = sweepLink(location.hash);
  if (linkedSweep) await openSweep(linkedSweep[1]).catch(() => {});
  window.addEventListener("hashchange", () => {
    const m = sweepLink(location.hash);
    if (m && $("sweep-result").dataset.id !== m[1]) openSweep(m[1]).catch(() => {});
  });
  // A link to a run (`#/runs/{id}`) opens it.
  const linked = location.hash.match(/^#\/runs\/(bt_[0-9]{8}_[0-9]{6}_[a-z0-9]{6})$/);
  if (linked) await open(linked[1], { restore: true }).catch(() => {});
  window.addEventListener("hashchange", () => {
    const m = location.hash.match(/^#\/runs\/(bt_[0-9]{8}_[0-9]{6}_[a-z0-9]{6})$/);
    if (m && (!current || current.backtest_id !== m[1])) open(m[1], { restore: true }).catch(() => {});
  });
  document.body.dataset.ready = "true";
}
start();
